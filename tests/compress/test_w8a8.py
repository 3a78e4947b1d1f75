"""INT8 W8A8, with and without SmoothQuant."""

import torch

from pytest_compress.compress import compress
from pytest_compress.compress.layers import compressible_layers, weight_matrix
from pytest_compress.compress.spec import parse_spec
from pytest_compress.compress.w8a8 import smoothing_scales

from tiny_models import calib, tiny_model


def _outlier_model():
    """A tiny Llama whose norms make two input channels 40x larger: the case SmoothQuant is for."""
    model = tiny_model("llama")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight"):
                p[:2] *= 40
    return model


def _error(spec, ids):
    with torch.no_grad():
        base = _outlier_model()(ids).logits
        model = _outlier_model()
        report = compress(model, parse_spec(spec), ids)
        return float((model(ids).logits - base).pow(2).mean()), report


def test_w8a8_weights_are_int8_rows():
    model, original = tiny_model("llama"), compressible_layers(tiny_model("llama"))
    compress(model, parse_spec("w8a8"))
    for name, module in compressible_layers(model).items():
        W = weight_matrix(module)
        codes = W / (weight_matrix(original[name]).abs().amax(1, keepdim=True) / 127.5)
        assert torch.allclose(codes, codes.round(), atol=1e-4) and codes.round().abs().max() <= 128


def test_smoothquant_lowers_the_error_when_activations_have_outlier_channels():
    ids = calib(8, 16)
    plain, plain_report = _error("w8a8", ids)
    smoothed, report = _error("w8a8-sq", ids)
    assert smoothed < plain / 2
    assert report.notes == ("w8a8-sq: 4 layers not smoothed (their input comes from no norm to fold the scales "
                            "into): model.layers.*.self_attn.o_proj (2), model.layers.*.mlp.down_proj (2)",)
    assert plain_report.notes == ()


def test_smoothing_scales_balance_activation_and_weight_ranges():
    x_max, w_max = torch.tensor([100.0, 1.0, 0.0]), torch.tensor([1.0, 4.0, 1.0])
    s = smoothing_scales(x_max, w_max)
    assert torch.allclose(x_max[:2] / s[:2], w_max[:2] * s[:2])  # alpha 0.5: both ranges meet at sqrt(x w)
    assert s[2] == 1e-5  # a channel that never fires is not divided by zero


def test_only_sq_needs_calibration():
    from pytest_compress.compress.registry import get_method

    assert not get_method("w8a8")(parse_spec("w8a8").steps[0]).needs_calibration
    assert get_method("w8a8")(parse_spec("w8a8-sq").steps[0]).needs_calibration
