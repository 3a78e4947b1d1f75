"""The end-of-session lines: compression, errors, and a closing line that never says "passed" wrongly."""

from pytest_compress.compress.api import CompressionReport
from pytest_compress.report.terminal import COLLECTION_ERROR, gate_line, render


def test_the_calibration_used_is_named_beside_its_compression():
    report = CompressionReport("gptq4", 12.5, 4.16, 0.2, 1 << 20,
                               calibration="python 3.11.7 standard-library docstrings(seed=0), 32x512 tokens, "
                                           "sha256 0123456789ab")
    lines = render([], decision="lenient", timings={}, reports=[report])
    assert lines[0] == ("gptq4: 4.16 bits/weight, sparsity 20.0%, 1.0 MiB packed, compressed: 12.5s, calibration: "
                        "python 3.11.7 standard-library docstrings(seed=0), 32x512 tokens, sha256 0123456789ab")
    uncalibrated = render([], decision="lenient", timings={}, reports=[CompressionReport("rtn4", 0.1, 4.1, 0, 1)])
    assert "calibration" not in uncalibrated[0]


def test_a_session_with_errors_or_nothing_gated_never_says_passed():
    errors = [("test_x.py::test_a[rtn4]", "tool_use dataset missing.jsonl does not exist\nmore")]
    lines = render([], decision="lenient", timings={}, errors=errors)
    assert "error: test_x.py::test_a[rtn4]: its evaluation failed (the error above)" in lines  # printed by pytest
    merged = render([], decision="lenient", timings={}, errors=errors, collected_here=False)
    assert "error: test_x.py::test_a[rtn4]: tool_use dataset missing.jsonl does not exist" in merged
    assert lines[-1] == ("Compression gate FAILED: 1 gate could not be evaluated, and no gated metric ran "
                         "(decision=lenient)")
    assert gate_line([], "strict") == "Compression gate not evaluated: no gated metric ran (decision=strict)"
    assert gate_line([], "lenient", errors=2).startswith("Compression gate FAILED: 2 gates could not be evaluated")
    assert not any(line.startswith("suite ") or "baseline" in line for line in lines)  # no empty table
    assert gate_line([], "lenient", failed_tests=1) == gate_line([], "lenient")  # nothing gated says so first


def test_a_gate_refused_at_collection_points_at_its_collection_error():
    errors = [("test_x.py::test_a", COLLECTION_ERROR + "@agentic_task('needle', n=-1): n must be positive")]
    lines = render([], decision="point", timings={}, errors=errors)
    assert lines == ["error: test_x.py::test_a: its marker or dataset is invalid (the collection error above)",
                     "Compression gate FAILED: 1 gate could not be evaluated, and no gated metric ran (decision=point)"]
    merged = render([], decision="point", timings={}, errors=errors, collected_here=False)  # the shards printed it
    assert merged[0] == "error: test_x.py::test_a: invalid at collection: @agentic_task('needle', n=-1): n must be positive"
