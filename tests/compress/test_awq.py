"""AWQ: exact scale folding, scale and clip searches, end-to-end."""

import re

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.awq import AWQ, fold_into_linear, fold_into_norm, search_clip, search_scale
from pytest_compress.compress.layers import compressible_layers, decoder_blocks, set_weight_matrix, weight_matrix
from pytest_compress.compress.registry import CompressionContext
from pytest_compress.compress.quantizer import quantize_rtn
from pytest_compress.compress.sequential import capture_block0_inputs, probe_block
from pytest_compress.spec import parse_spec

from tiny_models import ARCHS, calib, tiny_model


def random_scale(n, seed):
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)) * 3 + 0.2


@pytest.mark.parametrize("arch", ARCHS)
def test_norm_folding_preserves_the_model(arch):
    model, ids = tiny_model(arch, kv_heads=4), calib(2, 12)
    ref = model(ids).logits
    batch = capture_block0_inputs(model, ids)[0]
    folded = 0
    for bi, block in enumerate(decoder_blocks(model)):
        for gi, group in enumerate(probe_block(block, *batch).groups):
            if "Norm" not in type(group.producer).__name__:
                continue
            s = random_scale(weight_matrix(block.get_submodule(group.names[0])).shape[1], 10 * bi + gi)
            assert fold_into_norm(group.producer, s), group.producer_name
            for name in group.names:
                lin = block.get_submodule(name)
                set_weight_matrix(lin, weight_matrix(lin) * s)
            folded += 1
    assert folded == 4  # attention input and MLP input of both blocks
    torch.testing.assert_close(model(ids).logits, ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch,pairs", [
    ("llama", [("self_attn.v_proj", "self_attn.o_proj"), ("mlp.up_proj", "mlp.down_proj")]),
    ("gemma", [("mlp.up_proj", "mlp.down_proj")]),
    ("opt", [("self_attn.v_proj", "self_attn.out_proj")]),
])
def test_linear_folding_preserves_the_model(arch, pairs):
    model, ids = tiny_model(arch, kv_heads=4), calib(2, 12)
    ref = model(ids).logits
    for block in decoder_blocks(model):
        for prev_name, name in pairs:
            lin = block.get_submodule(name)
            s = random_scale(weight_matrix(lin).shape[1], 3)
            fold_into_linear(block.get_submodule(prev_name), s)
            set_weight_matrix(lin, weight_matrix(lin) * s)
    torch.testing.assert_close(model(ids).logits, ref, atol=1e-5, rtol=1e-4)


def test_fold_into_unsupported_module_is_refused_and_unchanged():
    norm = torch.nn.Linear(8, 8)  # not a norm: dividing its weight is not the same as output / s
    w = norm.weight.detach().clone()
    assert not fold_into_norm(norm, random_scale(8, 0))
    assert torch.equal(norm.weight, w)


def outlier_inputs(n=512, cols=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = torch.ones(cols)
    scale[:4] = 30.0
    return torch.randn(n, cols, generator=g) * scale


def test_scale_search_lowers_output_error_vs_rtn():
    X, W = outlier_inputs(), torch.randn(48, 64, generator=torch.Generator().manual_seed(1))
    s = search_scale(X.t() @ X, W, X.abs().mean(dim=0), 3, 32, False)
    awq = quantize_rtn(W * s, 3, 32) / s
    rtn = quantize_rtn(W, 3, 32)
    assert torch.linalg.norm(X @ (awq - W).t()) < 0.9 * torch.linalg.norm(X @ (rtn - W).t())


def test_clip_search_never_worse_than_no_clip():
    X, W = outlier_inputs(), torch.randn(48, 64, generator=torch.Generator().manual_seed(2))
    W[0, 0] = 8.0  # a weight outlier that clipping should tame
    clipped = quantize_rtn(search_clip(X.t() @ X, W, 3, 16, False), 3, 16)
    plain = quantize_rtn(W, 3, 16)
    assert torch.linalg.norm(X @ (clipped - W).t()) <= torch.linalg.norm(X @ (plain - W).t())


@pytest.mark.parametrize("arch,kv,unscaled", [
    ("llama", 4, set()),
    ("llama", 2, {"self_attn.o_proj"}),
    ("gpt2", 4, {"attn.c_proj", "mlp.c_proj"}),
    ("opt", 4, set()),  # ReLU: fc2 folds into fc1
])
def test_end_to_end_and_unscaled_layers(arch, kv, unscaled):
    model, ids = tiny_model(arch, kv_heads=kv), calib(16, 16)
    ref = model(ids).logits
    method = AWQ(parse_spec("awq3g16").steps[0])
    with torch.no_grad():
        reports = method.apply(model, CompressionContext(calibration=ids))
    assert len(reports) == len(compressible_layers(model))
    assert {re.sub(r"^.*?\.\d+\.", "", n) for n in method.unscaled} == unscaled
    awq_err = float((model(ids).logits - ref).pow(2).mean().detach())
    rtn = tiny_model(arch, kv_heads=kv)
    compress(rtn, parse_spec("rtn3g16"))
    assert awq_err < float((rtn(ids).logits - ref).pow(2).mean().detach())


def test_compress_reports_the_layers_awq_left_unscaled():
    """Grouped-query attention: o_proj has no foldable predecessor; the report says so, once."""
    model, ids = tiny_model("llama", kv_heads=2), calib(16, 16)
    report = compress(model, parse_spec("awq4g16"), ids)
    blocks = len(decoder_blocks(model))
    assert report.notes == (f"awq4g16: {blocks} layers left unscaled (no norm or linear before them to fold the "
                            f"scales into; clip-searched and quantized, but not scaled): "
                            f"model.layers.*.self_attn.o_proj ({blocks})",)
    assert compress(tiny_model("llama", kv_heads=4), parse_spec("awq4g16"), ids).notes == ()
