"""The end-of-session lines: compression, errors, and a closing line that never says "passed" wrongly."""

from pytest_compress.compress.api import CompressionReport
from pytest_compress.report.terminal import gate_line, render


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
    assert "error: test_x.py::test_a[rtn4]: tool_use dataset missing.jsonl does not exist" in lines
    assert lines[-1] == ("Compression gate FAILED: 1 gate could not be evaluated; 0/0 evaluated gated metrics "
                         "within limits (decision=lenient)")
    assert gate_line([], "strict") == "Compression gate not evaluated: no gated metric ran (decision=strict)"
    assert "passed" not in gate_line([], "lenient", errors=2)
