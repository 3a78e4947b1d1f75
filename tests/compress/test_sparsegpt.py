"""SparseGPT: OBS masks with weight reconstruction; stacking with GPTQ."""

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.magnitude import prune_mask
from pytest_compress.compress.sparsegpt import sparsegpt_prune
from pytest_compress.spec import parse_spec

from tiny_models import calib, tiny_model
from test_gptq import correlated_inputs, hessian, weight


def out_err(X, W, W_hat):
    return float(torch.linalg.norm(X @ (W - W_hat).t()))


@pytest.mark.parametrize("cols,block", [(64, 128), (200, 128), (64, 16)])
def test_exact_sparsity_per_column_block(cols, block):
    X, W = correlated_inputs(cols=cols), weight(cols=cols)
    P = sparsegpt_prune(W, hessian(X), sparsity=0.5, block_size=block)
    for a in range(0, cols, block):
        part = P[:, a : a + block]
        assert int((part == 0).sum()) == round(part.numel() * 0.5)


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (4, 8)])
def test_n_of_m(n, m):
    X, W = correlated_inputs(), weight()
    P = sparsegpt_prune(W, hessian(X), n_of_m=(n, m))
    kept = (P != 0).view(P.shape[0], -1, m).sum(dim=2)
    assert (kept == n).all()


@pytest.mark.parametrize("spec", ["sparsegpt50", "sparsegpt2:4"])
def test_output_error_below_magnitude(spec):
    X, W = correlated_inputs(), weight()
    s = parse_spec(spec).steps[0]
    P = sparsegpt_prune(W, hessian(X), None if s.n_of_m else s.sparsity, s.n_of_m)
    M = W.masked_fill(prune_mask(W.abs(), s), 0.0)
    assert out_err(X, W, P) < 0.95 * out_err(X, W, M)


def test_stacked_sparsegpt_then_gptq_keeps_sparsity():
    model = tiny_model("llama")
    report = compress(model, parse_spec("sparsegpt50+gptq4g16"), calibration=calib())
    assert report.sparsity >= 0.5
    model2 = tiny_model("llama")
    compress(model2, parse_spec("sparsegpt50"), calibration=calib())
    for (n, a), (_, b) in zip(model.named_parameters(), model2.named_parameters()):
        if n.endswith("proj.weight"):
            assert (a[b == 0] == 0).all(), n
