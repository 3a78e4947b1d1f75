"""The FP8, int8, E2M1, NVFP4 and MXFP4 grids: every value on its format's grid, nearest, ties even."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from pytest_compress.compress.number_formats import (
    E2M1_VALUES, FP8_MAX, fake_quantize_fp8, fake_quantize_int, fake_quantize_mxfp4, fake_quantize_nvfp4,
    mx_scale, nvfp4_global_scale, nvfp4_group_scales, round_e2m1, round_fp8,
)

GRID = torch.tensor(E2M1_VALUES)
SIGNED = torch.cat([-GRID.flip(0), GRID])
finite = st.floats(-20, 20, allow_nan=False, width=32)


def _on_grid(values, grid=SIGNED):
    return bool(torch.isin(values, grid).all())


@given(st.lists(finite, min_size=1, max_size=64))
def test_e2m1_rounds_to_the_nearest_grid_value(xs):
    x = torch.tensor(xs)
    out = round_e2m1(x)
    assert _on_grid(out)
    nearest = (x.clamp(-6, 6).unsqueeze(1) - SIGNED).abs().amin(1)
    assert torch.equal((x.clamp(-6, 6) - out).abs(), nearest)


def test_e2m1_ties_go_to_the_even_code():
    mids = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
    assert round_e2m1(mids).tolist() == [0.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0]
    assert round_e2m1(-mids).tolist() == [-0.0, -1.0, -1.0, -2.0, -2.0, -4.0, -4.0]
    assert round_e2m1(torch.tensor([7.0, -100.0])).tolist() == [6.0, -6.0]


@given(st.lists(st.floats(-500, 500, allow_nan=False, width=32), min_size=1, max_size=64))
def test_fp8_values_are_representable_in_e4m3(xs):
    out = round_fp8(torch.tensor(xs))
    assert torch.equal(out, out.to(torch.float8_e4m3fn).float())
    assert out.abs().max() <= FP8_MAX


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([0.01, 1.0, 300.0]))
def test_fp8_rows_hold_e4m3_values_times_one_scale(seed, spread):
    W = torch.randn(6, 48, generator=torch.Generator().manual_seed(seed)) * spread
    W_hat = fake_quantize_fp8(W, dim=1)
    q = W_hat / (W.abs().amax(1, keepdim=True) / FP8_MAX)
    assert torch.allclose(q, round_fp8(q), rtol=1e-6, atol=0)
    assert (W_hat - W).abs().max() <= W.abs().max() / 8  # e4m3 keeps 3 mantissa bits


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([1e-3, 1.0, 50.0]))
def test_every_nvfp4_group_of_16_holds_e2m1_values_times_its_fp8_scale(seed, spread):
    W = torch.randn(4, 64, generator=torch.Generator().manual_seed(seed)) * spread
    W[0, :16] = 0.0  # a zero group stays zero
    global_scale = nvfp4_global_scale(W.abs().amax())
    W_hat = fake_quantize_nvfp4(W, global_scale)
    groups, s = W_hat.reshape(4, 4, 16), nvfp4_group_scales(W.reshape(4, 4, 16), global_scale)
    assert torch.equal(s, round_fp8(s)) and s.max() <= FP8_MAX
    codes = groups / (torch.where(s > 0, s, torch.ones_like(s)) / global_scale)
    assert torch.allclose(codes, round_e2m1(codes), rtol=1e-6, atol=1e-6)
    assert _on_grid(round_e2m1(codes)) and not W_hat[0, :16].any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([1e-30, 1e-3, 1.0, 1e6]))
def test_mxfp4_scales_are_powers_of_two_and_groups_hold_e2m1_values(seed, spread):
    W = torch.randn(4, 64, generator=torch.Generator().manual_seed(seed)) * spread
    scale = mx_scale(W.reshape(4, 2, 32).abs().amax(-1, keepdim=True))
    mantissa, _ = torch.frexp(scale)
    assert torch.all(mantissa == 0.5)
    codes = fake_quantize_mxfp4(W).reshape(4, 2, 32) / scale  # a power of two: the division is exact
    assert _on_grid(codes)


def test_mx_scale_puts_the_group_maximum_at_the_top_of_e2m1():
    # 1.5 * 2^2 = 6 is E2M1's largest value: scale 2^(e - 2); a mantissa of 1.75 or more rounds e up
    amax = torch.tensor([6.0, 4.0, 1.0, 1.74, 1.75, 0.0])
    assert mx_scale(amax).tolist() == [1.0, 1.0, 0.25, 0.25, 0.5, 1.0]


def test_nvfp4_beats_mxfp4_on_gaussian_weights():
    W = torch.randn(64, 512, generator=torch.Generator().manual_seed(0))
    nv, mx = (fake_quantize_nvfp4(W) - W).norm(), (fake_quantize_mxfp4(W) - W).norm()
    assert nv < mx  # finer groups and finer scales


@pytest.mark.parametrize("bits, symmetric", [(8, True), (4, False)])
def test_integer_grids_per_token(bits, symmetric):
    x = torch.randn(3, 5, 64, generator=torch.Generator().manual_seed(1))
    out = fake_quantize_int(x, bits, symmetric=symmetric)
    for token_in, token_out in zip(x.reshape(-1, 64), out.reshape(-1, 64)):
        assert len(torch.unique(token_out)) <= 2**bits
        step = (token_in.abs().max() / 127.5) if symmetric else (token_in.max() - token_in.min()) / 15
        assert (token_in - token_out).abs().max() <= step / 2 + 1e-6
    assert not fake_quantize_int(torch.zeros(2, 8), bits, symmetric=symmetric).any()


def test_symmetric_int8_uses_the_compressed_tensors_grid():
    # scale = amax / 127.5 (not / 127): 0.3 is code round(38.25) = 38, and the row maximum is
    # clipped to code 127
    out = fake_quantize_int(torch.tensor([[1.0, 0.3]]), 8)
    assert torch.allclose(out, torch.tensor([[127 / 127.5, 38 / 127.5]]), rtol=1e-6)
