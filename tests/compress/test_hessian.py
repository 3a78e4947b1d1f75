"""The Hessian helpers GPTQ and SparseGPT share."""

import pytest
import torch

from pytest_compress.errors import CompressWarning
from pytest_compress.compress.hessian import HessianAccumulator, add_gram, inverse_cholesky


def test_inverse_cholesky_is_the_upper_factor_of_the_inverse():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 30, generator=g, dtype=torch.float64)
    H = X.t() @ X / 200
    U = inverse_cholesky(H)
    assert torch.equal(U, U.triu()) and bool((U.diagonal() > 0).all())
    torch.testing.assert_close(U.t() @ U, torch.linalg.inv(H))


def test_inverse_cholesky_adds_damping_when_not_positive_definite():
    H = torch.ones(4, 4, dtype=torch.float64) - 0.01 * torch.eye(4, dtype=torch.float64)  # one eigenvalue < 0
    assert int(torch.linalg.cholesky_ex(H).info) != 0
    with pytest.warns(CompressWarning, match="4x4 Hessian was not positive definite; extra damping was added"):
        U = inverse_cholesky(H)
    assert bool(torch.isfinite(U).all()) and torch.equal(U, U.triu())
    damped = torch.linalg.inv(U.t() @ U)  # the H that was factorised: H plus a multiple of I
    off = damped - H
    torch.testing.assert_close(off, off.diagonal().mean() * torch.eye(4, dtype=torch.float64))
    assert float(off.diagonal().mean()) > 0.01


def test_accumulator_is_a_mean_over_samples_whatever_the_batching():
    X = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(0))
    whole, pieces = HessianAccumulator(3), HessianAccumulator(3)
    whole.add_batch(X)
    for part in X.split([1, 3, 2]):
        pieces.add_batch(part)
    flat = X.reshape(-1, 3)
    torch.testing.assert_close(whole.H, 2 / 6 * flat.t() @ flat)
    torch.testing.assert_close(pieces.H, whole.H)


@pytest.mark.parametrize("cols", [7, 128, 300, 513, 640])
@pytest.mark.parametrize("blocks", [1, 3, 4])
def test_blocked_gram_equals_the_full_product(cols, blocks):
    x = torch.randn(50, cols, generator=torch.Generator().manual_seed(cols), dtype=torch.float64)
    H = torch.eye(cols, dtype=torch.float64)
    add_gram(H, x, 0.5, blocks)
    torch.testing.assert_close(H, torch.eye(cols, dtype=torch.float64) + 0.5 * x.t() @ x)


@pytest.mark.parametrize("n", [5, 128, 300, 1000])
def test_inverse_cholesky_matches_the_reference_three_step_factor(n):
    # The reference computes chol(inverse(H)) via Cholesky / cholesky_inverse / Cholesky.
    X = torch.randn(2 * n, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    H = X.t() @ X / n + 0.01 * torch.eye(n, dtype=torch.float64)
    want = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    torch.testing.assert_close(inverse_cholesky(H), want)
