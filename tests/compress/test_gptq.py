"""GPTQ math on small hand-built layers and Hessians."""

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.gptq import gptq_quantize
from pytest_compress.compress.quantizer import group_bounds, quantize_rtn
from pytest_compress.spec import parse_spec

from tiny_models import calib, tiny_model


def correlated_inputs(n=512, cols=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(n, cols, generator=g)
    A = torch.randn(cols, cols, generator=g) / cols**0.5 + torch.eye(cols)
    return Z @ A + 0.5 * torch.randn(n, 1, generator=g)  # shared component: strong correlation


def hessian(X):
    return 2 / X.shape[0] * X.t() @ X


def weight(rows=32, cols=64, seed=1):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("group_size", [0, 16, 24])
@pytest.mark.parametrize("symmetric", [False, True])
def test_diagonal_hessian_gives_rtn(group_size, symmetric):
    # With a diagonal H there is no cross-column error feedback: GPTQ is RTN.
    W = weight()
    H = torch.diag(torch.rand(64, generator=torch.Generator().manual_seed(2)) + 0.5)
    Q = gptq_quantize(W, H, 4, group_size, symmetric)
    torch.testing.assert_close(Q, quantize_rtn(W, 4, group_size, symmetric))


@pytest.mark.parametrize("spec", ["gptq4g16", "gptq3g0", "gptq4g16-act", "gptq4g24-sym"])
def test_output_error_below_rtn_on_correlated_inputs(spec):
    step = parse_spec(spec).steps[0]
    X, W = correlated_inputs(), weight()
    Q = gptq_quantize(W, hessian(X), step.bits, step.group_size, step.symmetric, step.act_order)
    R = quantize_rtn(W, step.bits, step.group_size, step.symmetric)
    err_gptq = torch.linalg.norm(X @ (W - Q).t())
    err_rtn = torch.linalg.norm(X @ (W - R).t())
    assert err_gptq < 0.9 * err_rtn


@pytest.mark.parametrize("act_order", [False, True])
@pytest.mark.parametrize("group_size,cols", [(16, 64), (24, 64), (0, 40)])  # 24: ragged last group
def test_every_group_holds_at_most_2_pow_bits_values(act_order, group_size, cols):
    X, W = correlated_inputs(cols=cols), weight(cols=cols)
    for bits in (2, 3):
        Q = gptq_quantize(W, hessian(X), bits, group_size, act_order=act_order)
        for a, b in group_bounds(cols, group_size):
            for row in Q[:, a:b]:
                assert len(torch.unique(row)) <= 2**bits


def test_dead_columns_are_zeroed_without_nans():
    X, W = correlated_inputs(), weight()
    X[:, [3, 10]] = 0.0
    Q = gptq_quantize(W, hessian(X), 4, 16)
    assert torch.isfinite(Q).all()
    assert (Q[:, [3, 10]] == 0).all()


def test_zero_mask_weights_stay_zero():
    X, W = correlated_inputs(), weight()
    mask = torch.rand(W.shape, generator=torch.Generator().manual_seed(3)) < 0.5
    W = W.masked_fill(mask, 0.0)
    for act in (False, True):
        Q = gptq_quantize(W, hessian(X), 4, 16, act_order=act, zero_mask=mask)
        assert (Q[mask] == 0).all()


def test_symmetric_grid_is_centred():
    X, W = correlated_inputs(), weight()
    Q = gptq_quantize(W, hessian(X), 3, 0, symmetric=True)
    scale = W.abs().amax(dim=1, keepdim=True) * 2 / 7
    codes = Q / scale
    torch.testing.assert_close(codes, codes.round(), atol=1e-4, rtol=0)
    assert codes.min() >= -4 - 1e-4 and codes.max() <= 3 + 1e-4


def test_compress_tiny_llama_beats_rtn_on_block_outputs():
    ids = calib(16, 16)
    errs = {}
    ref = tiny_model("llama")(ids).logits
    for spec in ("gptq3g16", "rtn3g16"):
        model = tiny_model("llama")
        report = compress(model, parse_spec(spec), calibration=ids)
        assert report.spec == spec and len(report.layers) == 14
        errs[spec] = float((model(ids).logits - ref).pow(2).mean().detach())
    assert errs["gptq3g16"] < errs["rtn3g16"]
