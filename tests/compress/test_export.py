"""The packed export: written by compressed-tensors, read back by transformers, equal to the simulation."""

import json

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.export import ExportError, check_exportable, export_checkpoint, export_name
from pytest_compress.compress.layers import compressible_layers, set_weight_matrix, weight_matrix
from pytest_compress.models import load_model, resolve_model
from pytest_compress.spec import parse_spec

from tiny_models import tiny_model

pytest.importorskip("compressed_tensors", reason='pip install "compressed-tensors>=0.20"')

#: spec -> the format it is written in; each covers a grid the export packs differently
EXPORTED = {
    "rtn4g16": "pack-quantized",
    "rtn3g32-sym": "pack-quantized",  # no zero point stored
    "rtn8g0": "pack-quantized",  # one group per row: the channel strategy
    "gptq4g16": "pack-quantized",  # grids computed as the column loop reaches each group
    "gptq4g16-act": "pack-quantized",  # static grids
    "awq4g16": "pack-quantized",  # scales folded into norms: side parameters change too
    "sparsegpt2:4+gptq4g16": "pack-quantized",
    "w8a8": "int-quantized",  # dynamic int8 activations in the scheme
    "w8a8-sq": "int-quantized",
    "wanda50": "dense",
}


def bit_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal bit for bit: ``torch.equal`` takes -0.0 for +0.0, a fingerprint does not."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


@pytest.fixture(scope="module")
def tiny_calibration():
    from pytest_compress.runner import GateRunner, RunConfig

    loaded = load_model(resolve_model("tiny"))
    return GateRunner(RunConfig(model="tiny", use_cache=False, calibration_samples=4,
                                calibration_seq_len=64))._calibration(parse_spec("gptq4"), loaded.tokenizer).ids


def _compressed_tiny(spec: str, ids):
    loaded = load_model(resolve_model("tiny"))
    report = compress(loaded.model, parse_spec(spec), ids)
    return loaded, report


@pytest.mark.filterwarnings("ignore:You passed `quantization_config`")
@pytest.mark.parametrize("spec", EXPORTED)
def test_the_export_reads_back_as_the_simulated_model_bit_for_bit(tmp_path, tiny_calibration, spec):
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig

    loaded, report = _compressed_tiny(spec, tiny_calibration)
    record = export_checkpoint(loaded.model, loaded.tokenizer, parse_spec(spec), report.grids, tmp_path / "out")
    assert record.format == EXPORTED[spec]
    files = dict(record.files)
    assert {"config.json", "model.safetensors", "tokenizer.json", "pytest_compress.json"} <= set(files)
    assert record.bytes == sum(p.stat().st_size for p in (tmp_path / "out").iterdir())
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert "pytest_compress_runtime" not in config  # the quantization_config says what runs quantized
    if record.format != "dense":
        q = config["quantization_config"]
        assert (q["quant_method"], q["format"], q["ignore"]) == ("compressed-tensors", record.format, ["lm_head"])
    # a standard loader (transformers + compressed-tensors, nothing of this project)
    packed = {} if record.format == "dense" else {"quantization_config": CompressedTensorsConfig(dequantize=True)}
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "out", dtype=torch.float32, **packed)
    simulated = loaded.model.state_dict()
    assert set(plain.state_dict()) == set(simulated)
    for name, tensor in plain.state_dict().items():
        assert bit_equal(tensor, simulated[name]), name
    # the project's loader: the same weights, and what the scheme quantizes at run time attached
    back = load_model(resolve_model(str(tmp_path / "out")))
    ids = tiny_calibration[:2, :24]
    with torch.no_grad():
        assert torch.equal(back.model(ids).logits, loaded.model(ids).logits)


def test_what_the_scheme_quantizes_at_run_time_is_simulated_on_load(tmp_path, tiny_calibration):
    from pytest_compress.compress.runtime import runtime_settings

    loaded, report = _compressed_tiny("w8a8", tiny_calibration)
    export_checkpoint(loaded.model, loaded.tokenizer, parse_spec("w8a8"), report.grids, tmp_path / "w8a8")
    back = load_model(resolve_model(str(tmp_path / "w8a8")))
    assert runtime_settings(back.model) == {"activations": "int8"}
    weights_only = load_model(resolve_model("tiny"))
    for name, module in compressible_layers(back.model).items():
        set_weight_matrix(compressible_layers(weights_only.model)[name], weight_matrix(module))
    ids = tiny_calibration[:1, :16]
    with torch.no_grad():  # the same weights without quantized activations score differently
        assert not torch.equal(back.model(ids).logits, weights_only.model(ids).logits)


def test_packed_codes_and_zero_points_are_the_grids_shifted_to_the_signed_range(tmp_path, tiny_calibration):
    from safetensors.torch import load_file

    from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32

    loaded, report = _compressed_tiny("rtn4g16", tiny_calibration)
    export_checkpoint(loaded.model, loaded.tokenizer, parse_spec("rtn4g16"), report.grids, tmp_path / "out")
    tensors = load_file(tmp_path / "out" / "model.safetensors")
    name = "model.layers.0.mlp.down_proj"
    grid, W = report.grids[name], weight_matrix(loaded.model.get_submodule(name))
    codes = unpack_from_int32(tensors[f"{name}.weight_packed"], 4, torch.Size(W.shape))
    assert torch.equal(codes.float(), grid.codes(W) - 8)
    zero = unpack_from_int32(tensors[f"{name}.weight_zero_point"], 4, grid.zero.shape, packed_dim=0)
    assert torch.equal(zero.float(), grid.zero - 8)
    assert torch.equal(tensors[f"{name}.weight_scale"], grid.scale)
    assert tensors[f"{name}.weight_packed"].numel() * 32 == W.numel() * 4  # eight codes per int32


@pytest.mark.parametrize("spec", ["rtn4g16", "gptq4g16", "gptq3g32-act", "awq4g16", "w8a8-sq", "wanda2:4+rtn4g16"])
def test_each_layer_is_a_fixed_point_of_the_grid_its_quantizer_recorded(tiny_calibration, spec):
    loaded, report = _compressed_tiny(spec, tiny_calibration)
    layers = compressible_layers(loaded.model)
    assert set(report.grids) == set(layers)
    for name, module in layers.items():
        W = weight_matrix(module)
        assert bit_equal(report.grids[name].fake_quantize(W), W), name


def test_a_ragged_last_group_is_refused_before_compressing_and_says_what_would_fit():
    loaded = load_model(resolve_model("tiny"))  # widths 128 and 256
    with pytest.raises(ExportError) as info:
        check_exportable(loaded.model, parse_spec("gptq4g96"))
    message = str(info.value)
    assert "is 128 columns wide, not a multiple of the group size 96" in message
    assert "last 32 columns as a narrower group" in message and "e.g. g128" in message and "g0" in message


@pytest.mark.parametrize("spec, says", [
    ("fp8", "fp8 is not written by this version's export"),
    ("nvfp4", "nvfp4 is not written"),
    ("rtn4g16+fp8-w", "fp8-w is not written"),  # the last quantizer's grids are what the weights lie on
    ("awq4g16+kv8", "kv8 quantizes the KV cache while the model runs"),
])
def test_what_the_export_does_not_write_is_refused_with_the_reason(spec, says):
    loaded = load_model(resolve_model("tiny"))
    with pytest.raises(ExportError, match=says):
        check_exportable(loaded.model, parse_spec(spec))


def test_layers_that_are_not_linear_are_refused():
    with pytest.raises(ExportError, match="not.*Conv1D"):
        check_exportable(tiny_model("gpt2"), parse_spec("rtn4g16"))


def test_without_compressed_tensors_the_error_says_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "compressed_tensors"
                        else real(name, *a))
    with pytest.raises(ExportError, match='pip install "compressed-tensors>=0.20"'):
        check_exportable(tiny_model("llama"), parse_spec("rtn4g16"))


def test_weights_moved_off_their_grid_are_refused_and_nothing_is_left_behind(tmp_path):
    model = tiny_model("llama")
    report = compress(model, parse_spec("rtn4g16"))
    name, module = next(iter(compressible_layers(model).items()))
    W = weight_matrix(module)
    W[0, 0] += 1e-3  # what a step after the quantizer would do
    set_weight_matrix(module, W)
    with pytest.raises(ExportError, match=f"{name}'s weights are not on the grid"):
        export_checkpoint(model, None, parse_spec("rtn4g16"), report.grids, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_an_export_replaces_the_previous_one_whole(tmp_path):
    model = tiny_model("llama")
    target = tmp_path / export_name(parse_spec("sparsegpt2:4+rtn4g16"))
    assert target.name == "sparsegpt2_4+rtn4g16"
    target.mkdir()
    (target / "stale.bin").write_bytes(b"old")
    report = compress(model, parse_spec("rtn4g16"))
    record = export_checkpoint(model, None, parse_spec("rtn4g16"), report.grids, target)
    assert "stale.bin" not in dict(record.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sparsegpt2_4+rtn4g16.lock", target.name]


def test_grids_survive_the_cache(tmp_path):
    from pytest_compress.runner import GateRunner, RunConfig

    config = RunConfig(model="tiny", cache_dir=tmp_path / "cache", export_dir=tmp_path / "exports",
                       calibration_samples=4, calibration_seq_len=32)
    _, fresh = GateRunner(config).compressed(parse_spec("gptq4g32"))
    first = (tmp_path / "exports" / "gptq4g32" / "model.safetensors").read_bytes()
    _, cached = GateRunner(config).compressed(parse_spec("gptq4g32"))
    assert cached.cached and not fresh.cached
    assert cached.export == fresh.export
    assert (tmp_path / "exports" / "gptq4g32" / "model.safetensors").read_bytes() == first
    assert cached.to_dict()["export"]["format"] == "pack-quantized" and "grids" not in cached.to_dict()
