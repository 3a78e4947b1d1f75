"""FP8: e4m3 weights per output channel and, unless -w, e4m3 activations per token at run time."""

import torch

from pytest_compress.compress import compress
from pytest_compress.compress.layers import compressible_layers, weight_matrix
from pytest_compress.compress.number_formats import FP8_MAX, round_fp8
from pytest_compress.compress.spec import parse_spec

from tiny_models import calib, tiny_model


def _inputs_seen(model, ids):
    """The input each compressed linear actually computes with (a hook after the plugin's own)."""
    seen = {}
    for name, module in compressible_layers(model).items():
        module.register_forward_pre_hook(lambda m, args, name=name: seen.setdefault(name, args[0].detach()))
    with torch.no_grad():
        model(ids)
    return seen


def _on_fp8_per_token(x):
    q = x / (x.abs().amax(-1, keepdim=True) / FP8_MAX)
    return torch.allclose(q, round_fp8(q), rtol=1e-6, atol=0)


def test_fp8_weights_and_every_linear_input_are_e4m3_values_times_their_scales():
    model = tiny_model("llama")
    report = compress(model, parse_spec("fp8"))
    for module in compressible_layers(model).values():
        W = weight_matrix(module)
        assert _on_fp8_per_token(W)  # one scale per output channel: the row is the "token"
    seen = _inputs_seen(model, calib(2, 8))
    assert seen and all(_on_fp8_per_token(x) for x in seen.values())
    widths = 2 * (6 * 32 + 64)  # per block: q, k, v, o, gate, up read 32 channels, down 64
    assert report.runtime_bits == {"activation": 8 + 32 * 14 / widths}  # a float32 scale per token and layer


def test_fp8_w_leaves_the_activations_alone():
    model = tiny_model("llama")
    report = compress(model, parse_spec("fp8-w"))
    assert report.runtime_bits == {} and str(parse_spec("FP8-W")) == "fp8-w"
    seen = _inputs_seen(model, calib(2, 8))
    assert not all(_on_fp8_per_token(x) for x in seen.values())


def test_pruned_weights_stay_zero_under_fp8():
    model = tiny_model("llama")
    report = compress(model, parse_spec("magnitude2:4+fp8"), calib())
    assert abs(report.sparsity - 0.5) < 0.01
