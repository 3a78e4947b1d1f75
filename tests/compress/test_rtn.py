import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.compress import compress
from pytest_compress.compress.quantizer import group_bounds, quantize_rtn, row_qparams
from pytest_compress.spec import parse_spec


def weights(rows, cols, seed=0):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


@given(st.integers(2, 8), st.sampled_from([0, 16, 24, 64]), st.booleans(), st.integers(0, 50))
def test_error_is_at_most_half_a_step(bits, group, symmetric, seed):
    W = weights(5, 72, seed)
    Q = quantize_rtn(W, bits, group, symmetric)
    for start, stop in group_bounds(W.shape[1], group):
        scale, _ = row_qparams(W[:, start:stop], bits, symmetric)
        err = (Q[:, start:stop] - W[:, start:stop]).abs()
        # Symmetric grids clip one code at the top (2^(b-1)-1 positive steps): allow a full step there.
        bound = scale * (1.0 if symmetric else 0.5) + 1e-6
        assert bool((err <= bound).all())


@given(st.integers(2, 8), st.sampled_from([0, 16, 64]), st.integers(0, 50))
def test_asymmetric_quantization_is_idempotent(bits, group, seed):
    Q = quantize_rtn(weights(4, 64, seed), bits, group)
    assert torch.allclose(quantize_rtn(Q, bits, group), Q, atol=1e-6)


def test_symmetric_grid_is_the_reference_gptq_grid():
    # Reference GPTQ's symmetric grid spans [-max|w|, +max|w|] with zero 2^(b-1): the top
    # code is never reached, so +max|w| is not on the grid and a second pass is not a no-op.
    W = torch.tensor([[-1.0, -0.5, 0.0, 0.5, 1.0]])
    scale, zero = row_qparams(W, 2, True)
    assert float(scale) == pytest.approx(2 / 3) and float(zero) == 2
    assert torch.allclose(quantize_rtn(W, 2, 0, True), torch.tensor([[-4 / 3, -2 / 3, 0, 2 / 3, 2 / 3]]))


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("group", [0, 128])
def test_every_group_holds_at_most_2_to_the_bits_values(bits, group):
    W = weights(6, 576)  # 576 = 4 x 128 + a ragged group of 64
    Q = quantize_rtn(W, bits, group)
    bounds = group_bounds(576, group)
    if group:
        assert bounds[-1] == (512, 576)
    for row in range(6):
        for start, stop in bounds:
            assert len(torch.unique(Q[row, start:stop])) <= 2**bits


def test_exact_grid_values_on_a_hand_example():
    W = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]])
    # 2 bits asymmetric over [0, 0.7]: scale 0.7/3, zero 0 -> grid {0, 0.2333, 0.4667, 0.7}
    Q = quantize_rtn(W, 2, 0)
    step = 0.7 / 3
    expected = torch.tensor([[0, 0, step, step, 2 * step, 2 * step, 3 * step, 3 * step]])
    assert torch.allclose(Q, expected, atol=1e-6)


def test_zero_is_exactly_representable_and_empty_rows_stay_zero():
    W = torch.tensor([[0.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.5, 2.0]])
    Q = quantize_rtn(W, 3, 0)
    assert bool((Q[0] == 0).all()) and Q[1, 1] == 0


def test_more_bits_less_error():
    W = weights(16, 256)
    errors = [float((quantize_rtn(W, b, 64) - W).norm()) for b in (2, 3, 4, 8)]
    assert errors == sorted(errors, reverse=True)


def test_compress_none_leaves_weights_bit_identical(tiny_llama):
    before = {k: v.clone() for k, v in tiny_llama.state_dict().items()}
    report = compress(tiny_llama, parse_spec("none"))
    assert all(torch.equal(before[k], v) for k, v in tiny_llama.state_dict().items())
    assert report.spec == "none" and report.bits_per_weight == 16.0


def test_compress_rtn_reports_measured_bits_and_layers(tiny_llama):
    report = compress(tiny_llama, parse_spec("rtn4g16"))
    # 4-bit codes + (16-bit scale + 4-bit zero) per 16 columns
    assert report.bits_per_weight == pytest.approx(4 + 20 / 16)
    assert len(report.layers) == 2 * 7 and all(0 < l.rel_error < 0.3 for l in report.layers)
