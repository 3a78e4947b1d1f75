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
    Q = gptq_quantize(W, hessian(X), step.bits, step.group_size, step.symmetric, "act" in step.options)
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


@pytest.mark.parametrize("act_order", [False, True])
def test_stacked_rows_quantize_as_each_matrix_alone(act_order):
    # compress_block stacks the linears sharing an input (q/k/v) into one call: rows are independent.
    X = correlated_inputs()
    parts = [weight(rows, seed=s) for rows, s in ((32, 1), (8, 2), (8, 3))]
    masks = [torch.rand(W.shape, generator=torch.Generator().manual_seed(9)) < 0.3 for W in parts]
    stacked = gptq_quantize(torch.cat(parts), hessian(X), 4, 16, act_order=act_order, zero_mask=torch.cat(masks))
    alone = [gptq_quantize(W, hessian(X), 4, 16, act_order=act_order, zero_mask=m) for W, m in zip(parts, masks)]
    torch.testing.assert_close(stacked, torch.cat(alone), rtol=1e-5, atol=1e-5)


def textbook_gptq(W, H, bits, group_size, block_size=128):
    """The reference algorithm as published: one rank-1 update per column inside
    blocks of ``block_size``, the inverse Hessian from Cholesky/inverse/Cholesky,
    a group's grid computed when the loop reaches its first column."""
    W = W.clone().double()
    H = H.clone().double()
    H += 0.01 * H.diagonal().mean() * torch.eye(H.shape[0], dtype=H.dtype)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    maxq = 2**bits - 1
    for i1 in range(0, W.shape[1], block_size):
        i2 = min(i1 + block_size, W.shape[1])
        W1, Err1, Hinv1 = W[:, i1:i2].clone(), torch.zeros_like(W[:, i1:i2]), Hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            if (i1 + i) % group_size == 0:
                g = torch.cat([W1[:, i:], W[:, i2:]], 1)[:, :group_size]
                lo, hi = g.min(1).values.clamp(max=0), g.max(1).values.clamp(min=0)
                scale = (hi - lo) / maxq
                zero = torch.round(-lo / scale)
            w = W1[:, i]
            q = (torch.clamp(torch.round(w / scale) + zero, 0, maxq) - zero) * scale
            Q[:, i1 + i] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err[:, None] * Hinv1[i, i:][None, :]
            Err1[:, i] = err
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return Q


@pytest.mark.parametrize("group_size", [16, 24, 40])
def test_matches_the_textbook_single_level_loop(group_size):
    # Ours runs sub-blocks and a one-step inverse factor; the result must not move.
    X = correlated_inputs(cols=96)
    W = weight(rows=24, cols=96)
    ours = gptq_quantize(W.double(), hessian(X).double(), 4, group_size, block_size=32)
    want = textbook_gptq(W, hessian(X), 4, group_size, block_size=32)
    torch.testing.assert_close(ours.double(), want, rtol=0, atol=1e-5)  # ours computes in float32
