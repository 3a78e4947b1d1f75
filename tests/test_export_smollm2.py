"""The packed export of SmolLM2: read back by a standard loader and gated, it is the simulated model."""

import pytest

from pytest_compress.runner import GateRunner, RunConfig
from pytest_compress.spec import parse_spec

pytestmark = pytest.mark.slow

SPECS = ["rtn4g64", "gptq4g64", "awq4g64", "sparsegpt2:4+gptq4g64"]
SUITES = {"tool_use": {"n": 16}, "agreement.rank_correlation": {"n": 8}}
#: the export's equality does not depend on how much calibration there is: a little keeps CI quick
CALIBRATION = {"calibration_samples": 8, "calibration_seq_len": 256}


@pytest.fixture(scope="module")
def runners(smollm2_cache, tmp_path_factory):
    """The in-process runner (exporting, sharing the session cache) and one that evaluates the
    exports with no cache at all, so nothing it reports was computed for the in-process spec."""
    pytest.importorskip("compressed_tensors")
    exports = tmp_path_factory.mktemp("exports")
    made = GateRunner(RunConfig(model="smollm2-135m", cache_dir=smollm2_cache, export_dir=exports, decision="point",
                                **CALIBRATION))
    fresh = GateRunner(RunConfig(model="smollm2-135m", use_cache=False, decision="point"))
    return made, fresh


@pytest.mark.parametrize("spec", SPECS)
def test_the_export_reloads_as_the_simulated_weights_and_gates_with_the_same_numbers(runners, spec):
    import torch
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig

    from pytest_compress.models.checkpoint import checkpoint_spec
    from pytest_compress.models.fingerprint import weights_fingerprint

    made, fresh = runners
    simulated, report = made.compressed(parse_spec(spec))
    assert report.export.format == "pack-quantized"
    # transformers + compressed-tensors alone: every tensor equal to the simulated float32 model's
    plain = AutoModelForCausalLM.from_pretrained(report.export.directory, dtype=torch.float32,
                                                 quantization_config=CompressedTensorsConfig(dequantize=True))
    assert weights_fingerprint(plain) == simulated.fingerprint
    del plain
    checkpoint = checkpoint_spec(report.export.directory, "smollm2-135m")
    for suite, params in SUITES.items():
        ours = made.evaluate(parse_spec(spec), suite, params).to_dict()
        theirs = fresh.evaluate(checkpoint, suite, params).to_dict()
        for a, b in zip(ours["metrics"], theirs["metrics"], strict=True):
            assert {k: v for k, v in a.items()} == {k: v for k, v in b.items()}, (suite, a["metric"])


def test_a_ragged_group_of_smollm2_is_refused_and_names_the_sizes_that_fit(runners):
    from pytest_compress.compress.export import ExportError, check_exportable

    made, _ = runners
    with pytest.raises(ExportError) as info:  # rtn8 is rtn8g128: 576 = 4 x 128 + 64
        check_exportable(made.baseline.model, parse_spec("rtn8"))
    assert "is 576 columns wide, not a multiple of the group size 128" in str(info.value)
    assert "last 64 columns as a narrower group" in str(info.value) and "e.g. g64" in str(info.value)
