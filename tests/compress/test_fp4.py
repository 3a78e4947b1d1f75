"""NVFP4 and MXFP4 on models: fused scales shared, ragged widths refused, bits counted."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from pytest_compress.compress import compress
from pytest_compress.compress.layers import compressible_layers, weight_matrix
from pytest_compress.compress.number_formats import fake_quantize_nvfp4, nvfp4_global_scale
from pytest_compress.compress.spec import parse_spec
from pytest_compress.errors import CompressError

from tiny_models import calib, tiny_model


def test_nvfp4_fused_projections_share_one_global_scale():
    model = tiny_model("llama")
    original = {n: weight_matrix(m) for n, m in compressible_layers(model).items()}
    compress(model, parse_spec("nvfp4"))
    prefix = "model.layers.0."
    qkv = [prefix + f"self_attn.{p}_proj" for p in "qkv"]
    shared = nvfp4_global_scale(max(original[n].abs().max() for n in qkv))
    for name in qkv:
        assert torch.equal(weight_matrix(compressible_layers(model)[name]), fake_quantize_nvfp4(original[name], shared))
    o_proj = prefix + "self_attn.o_proj"  # not fused: its own scale
    assert torch.equal(weight_matrix(compressible_layers(model)[o_proj]), fake_quantize_nvfp4(original[o_proj]))


@pytest.mark.parametrize("spec, bits, group", [("nvfp4", 4.5, 16), ("mxfp4", 4.25, 32)])
def test_bits_per_weight_count_the_group_scales(spec, bits, group):
    model = tiny_model("llama")
    report = compress(model, parse_spec(spec))
    assert report.bits_per_weight == bits and report.runtime_bits == {}
    with_activations = compress(tiny_model("llama"), parse_spec(spec + "-a"))
    assert with_activations.runtime_bits == {"activation": bits}


def test_a_width_that_does_not_split_into_groups_is_refused_naming_the_layer():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, vocab_size=64)).eval()
    compress(model, parse_spec("nvfp4"))  # 48 and 96 are multiples of 16
    with pytest.raises(CompressError, match=r"mxfp4 needs every compressed layer's input width to be a multiple "
                                            r"of 32; 6 are not \(first: model.layers.0.mlp.gate_proj, 48 wide\)"):
        compress(model, parse_spec("mxfp4"))


def test_nvfp4_is_closer_to_the_baseline_than_mxfp4():
    ids = calib(4, 16)
    with torch.no_grad():
        base = tiny_model("llama")(ids).logits
        moved = {}
        for spec in ("nvfp4", "mxfp4"):
            model = tiny_model("llama")
            compress(model, parse_spec(spec))
            moved[spec] = float((model(ids).logits - base).abs().mean())
    assert moved["nvfp4"] < moved["mxfp4"]
