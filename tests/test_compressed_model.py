"""``--compressed-model``: gating a checkpoint another tool compressed, end to end through pytester."""

import json
from pathlib import Path

import pytest

from pytest_compress.plugin import (
    CASES_OPTION, COMPRESS_OPTION, COMPRESSED_MODEL_OPTION, MODEL_OPTION, NO_CACHE_OPTION, REPORT_OPTION,
    SUITES_OPTION,
)

pytestmark = pytest.mark.usefixtures("warm_imports")

TINY_SUITES = "tool_use,agreement.rank_correlation"
QUICK = [f"{MODEL_OPTION}=tiny", f"{SUITES_OPTION}={TINY_SUITES}", f"{CASES_OPTION}=16", NO_CACHE_OPTION,
         "-p", "no:randomly"]
SAME_FIELDS = ("baseline", "compressed", "drop", "interval", "verdict", "limit", "n")


def _save_compressed_tiny(spec: str, folder: Path) -> Path:
    """The project's own compression of the tiny model, saved as a plain HF checkpoint
    (what any tool that writes dense fake-quantized weights produces)."""
    from pytest_compress.compress import compress
    from pytest_compress.models import load_model, resolve_model
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    parsed = parse_spec(spec)
    loaded = load_model(resolve_model("tiny"))
    calibration = GateRunner(RunConfig(model="tiny", use_cache=False))._calibration(parsed, loaded.tokenizer)
    compress(loaded.model, parsed, getattr(calibration, "ids", None))
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def _metrics_by_spec(document: dict) -> dict:
    out = {}
    for result in document["results"]:
        for metric in result["metrics"]:
            key = (result["suite"], metric["metric"])
            out.setdefault(result["spec"], {})[key] = {f: metric.get(f, result.get(f)) for f in SAME_FIELDS}
    return out


@pytest.mark.parametrize("spec", ["rtn8", "rtn2"])
def test_saved_checkpoint_gates_exactly_like_the_in_process_compression(pytester, tmp_path, spec):
    checkpoint = _save_compressed_tiny(spec, tmp_path / f"{spec}-tiny")
    label = f"loaded@{spec}-tiny"
    result = pytester.runpytest(f"{COMPRESS_OPTION}={spec}", f"{COMPRESSED_MODEL_OPTION}={checkpoint}", *QUICK,
                                f"{REPORT_OPTION}={tmp_path / 'report'}", "-v")
    result.stdout.fnmatch_lines([f"*compress::tool_use[[]{spec}[]]*", f"*compress::tool_use[[]{label}[]]*"])
    document = _report(tmp_path / "report")
    by_spec = _metrics_by_spec(document)
    assert set(by_spec) == {spec, label}
    assert by_spec[label] == by_spec[spec]  # every verdict and number, per suite and metric
    built, loaded = ({c["spec"]: c for c in document["compression"]}[s] for s in (spec, label))
    assert {k: loaded[k] for k in ("bits_per_weight", "sparsity", "packed_bytes")} == {
        k: built[k] for k in ("bits_per_weight", "sparsity", "packed_bytes")}
    result.stdout.fnmatch_lines([f"{label}: {built['bits_per_weight']:.2f} bits/weight, sparsity *"])
    outcome = {r.nodeid: r.outcome for r in result.reprec.getreports("pytest_runtest_logreport") if r.when == "call"}
    for suite in TINY_SUITES.split(","):
        assert outcome[f"compress::{suite}[{label}]"] == outcome[f"compress::{suite}[{spec}]"]
    if spec == "rtn2":  # the pair covers a failing gate too (rtn2 wrecks the tiny model)
        assert "failed" in outcome.values()


def test_compressed_model_alone_is_one_pair_against_the_baseline(pytester, tmp_path):
    checkpoint = _save_compressed_tiny("rtn8", tmp_path / "rtn8-tiny")
    pytester.makepyfile("""
        def test_pair_sides(model_pair, compress_spec):
            assert str(compress_spec) == "loaded@rtn8-tiny"
            assert model_pair.baseline.source.kind == "tiny"
            assert model_pair.compressed.source.kind == "dir"
            assert model_pair.report.bits_per_weight == 8 + 24 / 128  # 8-bit codes, fp16 scale + 8-bit zero per row
    """)
    result = pytester.runpytest(f"{COMPRESSED_MODEL_OPTION}={checkpoint}", *QUICK, f"{SUITES_OPTION}=tool_use",
                                f"{CASES_OPTION}=200", "-v")  # a cap at which rtn8 is decided
    result.stdout.fnmatch_lines(["*test_pair_sides[[]loaded@rtn8-tiny[]] PASSED*",
                                 "*compress::tool_use[[]loaded@rtn8-tiny[]] PASSED*"])
    result.assert_outcomes(passed=2)


def test_ini_compressed_model(pytester, tmp_path):
    checkpoint = _save_compressed_tiny("rtn8", tmp_path / "from-ini")
    pytester.makeini(f"[pytest]\ncompressed_model = {checkpoint}\n")
    result = pytester.runpytest(*QUICK, f"{SUITES_OPTION}=tool_use", f"{CASES_OPTION}=200", "-v")
    result.stdout.fnmatch_lines(["*compress::tool_use[[]loaded@from-ini[]] PASSED*"])


def _random_checkpoint(folder: Path, model_type: str, vocab_size: int) -> Path:
    """A tiny random transformers model with the shipped tiny model's tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from pytest_compress.models.loading import TINY_DIR

    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab_size,
                                  max_position_embeddings=128)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(TINY_DIR).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("model_type, vocab_size, difference", [
    ("llama", 512, "*vocabulary size: 1024 vs 512*"),
    ("qwen2", 1024, "*architecture: model_type 'llama' vs 'qwen2'*"),
])
def test_mismatched_pair_is_a_usage_error_naming_the_difference(pytester, tmp_path, model_type, vocab_size,
                                                                   difference):
    other = _random_checkpoint(tmp_path / f"{model_type}-{vocab_size}", model_type, vocab_size)
    result = pytester.runpytest(f"{COMPRESSED_MODEL_OPTION}={other}", *QUICK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{other.name} is not a compressed version of the baseline tiny*", difference])


def _swapped_tokenizer_checkpoint(folder: Path) -> Path:
    """Same architecture and vocabulary size as the tiny model, but two tokens swap ids:
    only encoding a text tells the tokenizers apart."""
    _random_checkpoint(folder, "llama", 1024)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    vocab["e"], vocab["o"] = vocab["o"], vocab["e"]
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    return folder


def test_different_tokenizer_found_after_loading_is_a_usage_error(pytester, tmp_path):
    folder = _swapped_tokenizer_checkpoint(tmp_path / "swapped")
    result = pytester.runpytest(f"{COMPRESSED_MODEL_OPTION}={folder}", *QUICK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*swapped is not a compressed version of the baseline tiny*",
                                 "*tokenization: the probe text*first difference at token*"])
    result.stdout.no_fnmatch_line("*Compression gate passed*")  # no gate summary after a usage error


def test_different_tokenizer_stops_a_fixture_test_too(pytester, tmp_path):
    folder = _swapped_tokenizer_checkpoint(tmp_path / "swapped")
    pytester.makepyfile("def test_pair(model_pair):\n    assert False, 'never reached'\n")
    result = pytester.runpytest(f"{COMPRESSED_MODEL_OPTION}={folder}", *QUICK, f"{SUITES_OPTION}=none")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*tokenization: the probe text*"])


def test_missing_compressed_model_is_a_usage_error(pytester):
    result = pytester.runpytest(f"{COMPRESSED_MODEL_OPTION}=/no/such/checkpoint", *QUICK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot find model '/no/such/checkpoint'*"])




@pytest.mark.slow
def test_gguf_checkpoint_against_its_own_dequantized_export_drops_nothing(pytester, tmp_path, smollm2_cache):
    from pytest_compress.models import load_model, resolve_model
    from pytest_compress.models.loading import _dequantized_dir
    from pytest_compress.suites import suite_names

    source = resolve_model("smollm2-135m")
    load_model(source, cache_root=Path(smollm2_cache))  # writes the plain fp32 export once per session
    export = _dequantized_dir(source, Path(smollm2_cache))
    gguf = Path(source.location) / source.gguf_file
    label = f"gguf-q4_1@{gguf.name}"
    pytester.makepyfile("""
        def test_loaded_through_the_gguf_path(compressed_model, baseline_model):
            assert compressed_model.source.kind == "gguf" and baseline_model.source.kind == "dir"
            assert compressed_model.model.config.quantization_config.quant_method == "gguf"
    """)
    result = pytester.runpytest(
        f"{MODEL_OPTION}={export}", f"{COMPRESSED_MODEL_OPTION}={gguf}", f"{SUITES_OPTION}=*",  # all + bfcl
        f"{CASES_OPTION}=4", NO_CACHE_OPTION, f"{REPORT_OPTION}={tmp_path / 'report'}", "-p", "no:randomly",
    )
    document = _report(tmp_path / "report")
    assert document["compression"][0]["spec"] == label
    assert document["compression"][0]["bits_per_weight"] == 5.0  # Q4_1, read from the GGUF block layout
    drops = {(r["suite"], m["metric"]): m["drop"] for r in document["results"] for m in r["metrics"]}
    assert {suite for suite, _ in drops} == set(suite_names())  # every built-in suite, 4 cases each
    assert set(drops.values()) <= {0.0, None}  # same weights: nothing moves (None: undefined on both)
    outcomes = result.parseoutcomes()  # 4 cases decide nothing unless the weights are bit-identical
    assert outcomes.get("failed", 0) == 0
    assert outcomes.get("passed", 0) + outcomes.get("inconclusive", 0) == 1 + len(suite_names())


@pytest.mark.parametrize("spec, label", [("gptq4g32", "ct-w4a16g32"), ("w8a8", "ct-w8a8g0")])
def test_an_exported_checkpoint_gates_exactly_like_the_in_process_spec(pytester, tmp_path, spec, label):
    pytest.importorskip("compressed_tensors")
    exports = tmp_path / "exports"
    first = pytester.runpytest(f"{COMPRESS_OPTION}=rtn4g16,{spec}", f"--compress-export={exports}", *QUICK,
                               f"{REPORT_OPTION}={tmp_path / 'made'}")
    first.stdout.fnmatch_lines([f"{spec} exported to {exports / spec} (*-quantized, * MiB): model.safetensors *"])
    made = {c["spec"]: c for c in _report(tmp_path / "made")["compression"]}
    files = {f["name"]: f["bytes"] for f in made[spec]["export"]["files"]}
    assert files["model.safetensors"] == (exports / spec / "model.safetensors").stat().st_size
    assert made["rtn4g16"]["export"]["format"] == "pack-quantized"
    checkpoint = exports / spec
    result = pytester.runpytest(f"{COMPRESS_OPTION}={spec}", f"{COMPRESSED_MODEL_OPTION}={checkpoint}", *QUICK,
                                f"{REPORT_OPTION}={tmp_path / 'report'}")
    by_spec = _metrics_by_spec(_report(tmp_path / "report"))
    loaded = f"{label}@{spec}"
    assert set(by_spec) == {spec, loaded}
    assert by_spec[loaded] == by_spec[spec]  # every drop, interval and verdict
    assert result.ret == first.ret


def test_a_spec_the_export_cannot_write_errors_its_tests_with_the_reason(pytester, tmp_path):
    pytest.importorskip("compressed_tensors")
    result = pytester.runpytest(f"{COMPRESS_OPTION}=fp8,rtn4g16", f"--compress-export={tmp_path / 'x'}", *QUICK,
                                "-v")
    result.stdout.fnmatch_lines(["*compress::tool_use[[]fp8[]] FAILED*", "*[[]rtn4g16[]] PASSED*",
                                 "fp8: fp8 is not written by this version's export*"])
    assert sorted(p.name for p in (tmp_path / "x").iterdir() if not p.name.startswith(".")) == ["rtn4g16"]
