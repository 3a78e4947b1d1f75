"""pytest-xdist: a device per worker, results sent to the controller, one summary, the same verdict."""

import json
import math

import pytest

from pytest_compress.distributed import WorkerOutput, from_wire, merge_outputs, to_wire, worker_device, worker_index
from pytest_compress.results import PairedResult


@pytest.mark.parametrize(("requested", "worker", "cuda_count", "expected"), [
    ("auto", None, 4, "auto"),          # not under xdist: untouched
    ("auto", "gw0", 0, "cpu"),          # no CUDA: every worker on the CPU
    ("auto", "gw5", 0, "cpu"),
    ("auto", "gw0", 2, "cuda:0"),       # round-robin over the visible GPUs
    ("auto", "gw1", 2, "cuda:1"),
    ("auto", "gw2", 2, "cuda:0"),
    ("auto", "gw7", 3, "cuda:1"),
    ("cuda", "gw3", 4, "cuda:3"),
    ("cuda", "gw1", 0, "cuda"),         # left for device resolution to refuse with its own message
    ("cpu", "gw1", 2, "cpu"),           # pinned by the user: kept
    ("cuda:1", "gw0", 2, "cuda:1"),
    ("AUTO", "gw1", 2, "cuda:1"),
    ("auto", "master", 2, "auto"),      # not a worker id
])
def test_worker_device(requested, worker, cuda_count, expected):
    assert worker_device(requested, worker, cuda_count) == expected


def test_eight_workers_on_four_gpus_share_them_evenly():
    devices = [worker_device("auto", f"gw{i}", 4) for i in range(8)]
    assert sorted(devices) == sorted([f"cuda:{i}" for i in range(4)] * 2)


def test_worker_index():
    assert [worker_index(w) for w in ("gw0", "gw12", "gw", "g1", None)] == [0, 12, None, None, None]


@pytest.fixture(scope="module")
def tiny_results():
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    runner = GateRunner(RunConfig(model="tiny", use_cache=False))
    results = [runner.evaluate(parse_spec(spec), suite, {"n": 8})
               for spec in ("rtn8", "rtn2") for suite in ("tool_use", "agreement.rank_correlation")]
    return runner, results


def test_results_survive_the_trip_to_the_controller_as_json(tiny_results):
    runner, results = tiny_results
    sent = WorkerOutput(tuple(results), tuple(runner.reports.values()), dict(runner.timings), ("an event",))
    wire = json.loads(json.dumps(sent.to_wire()))  # JSON-able: only builtin types travel
    received = WorkerOutput.from_wire(wire)
    assert received.results == tuple(results)
    assert received.reports == tuple(runner.reports.values())
    assert received.cache_events == ("an event",) and received.timings == pytest.approx(dict(runner.timings))
    r = received.results[1]
    assert isinstance(r, PairedResult) and r.metrics["tau"].limit.min == 0.6
    assert r.metrics["tau"].verdict.status == results[1].metrics["tau"].verdict.status
    assert isinstance(r.cases[0].baseline, dict) and isinstance(r.metrics["tau"].interval, tuple)


def test_from_wire_keeps_nan_and_optional_fields():
    from pytest_compress.gate import Verdict

    verdict = from_wire(Verdict, to_wire(Verdict("inconclusive", True, ("ok",), ("at chance",))))
    assert verdict == Verdict("inconclusive", True, ("ok",), ("at chance",))
    assert math.isnan(from_wire(float, float("nan")))


def test_merge_orders_results_like_the_command_line_and_prefers_real_compressions(tiny_results):
    import dataclasses

    runner, results = tiny_results
    rtn8 = runner.reports.get("rtn8") or dataclasses.replace(next(iter(runner.reports.values())), spec="rtn8")
    worker_a = WorkerOutput(results=(results[3], results[0]), reports=(dataclasses.replace(rtn8, cached=True),),
                            timings={"load": 1.0})
    worker_b = WorkerOutput(results=(results[2], results[1]), reports=(dataclasses.replace(rtn8, cached=False),),
                            timings={"load": 2.0, "compress": 1.0}, cache_events=("x",))
    merged = merge_outputs([worker_a, worker_b], ["rtn8", "rtn2"])
    assert [(r.spec, r.suite) for r in merged.results] == [
        ("rtn8", "agreement.rank_correlation"), ("rtn8", "tool_use"),
        ("rtn2", "agreement.rank_correlation"), ("rtn2", "tool_use")]
    assert merge_outputs([worker_b, worker_a], ["rtn8", "rtn2"]).results == merged.results
    assert [r.cached for r in merged.reports] == [False]
    assert merged.timings == {"load": 3.0, "compress": 1.0} and merged.cache_events == ("x",)


XDIST_ARGS = ["--compress=rtn8,rtn2", "--compress-model=tiny", "--compress-suites=tool_use",
              "--compress-cases=200", "-p", "no:randomly", "-p", "no:cacheprovider"]


def _table_and_gate(result) -> list[str]:
    """The summary's table and gate line (the lines that carry the verdict; timings and
    cache counts differ legitimately: each worker evaluates its own baseline)."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("spec  suite.metric"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Compression gate"))
    return [lines[start], *(line for line in lines[start + 2:end] if line.startswith("rtn")), lines[end]]


@pytest.mark.usefixtures("warm_imports")
def test_same_verdict_and_summary_under_xdist(pytester, monkeypatch):
    pytest.importorskip("xdist")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    serial = pytester.runpytest(*XDIST_ARGS, "-n", "0", "--compress-report=serial")
    step_summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    parallel = pytester.runpytest_subprocess(*XDIST_ARGS, "-n", "2", "--compress-report=parallel")
    assert step_summary.read_text().count("## ❌ pytest-compress") == 1  # the controller's, not one per worker
    serial.assert_outcomes(passed=1, failed=1)
    parallel.assert_outcomes(passed=1, failed=1)
    assert parallel.ret == serial.ret == pytest.ExitCode.TESTS_FAILED
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    # One summary, printed by the controller, with the serial run's table and verdict.
    assert parallel.stdout.str().count("Compression gate FAILED") == 1
    documents = [json.loads((pytester.path / d / "report.json").read_text()) for d in ("serial", "parallel")]
    rows = sum(len(r["metrics"]) for r in documents[0]["results"])
    assert rows >= 2 and len(_table_and_gate(serial)) == rows + 2  # header, one row per metric, gate line
    assert _table_and_gate(parallel) == _table_and_gate(serial)
    for doc in documents:
        assert [(r["spec"], r["suite"], r["passed"]) for r in doc["results"]] == [
            ("rtn8", "tool_use", True), ("rtn2", "tool_use", False)]
        assert not doc["passed"]
    keep = ("spec", "suite", "n", "passed", "metrics")
    assert [{k: r[k] for k in keep} for r in documents[0]["results"]] == [
        {k: r[k] for k in keep} for r in documents[1]["results"]]


def test_a_gate_refused_at_collection_is_reported_under_xdist(pytester):
    """Workers collect; their collection error on a marked test travels to the controller
    (a report type of the plugin's own) and the closing line fails."""
    pytest.importorskip("xdist")
    pytester.makepyfile("""
from pytest_compress import agentic_task

@agentic_task("tool_use", dataset="missing.jsonl")
def test_missing(task_result):
    pass
""")
    result = pytester.runpytest_subprocess("--compress=rtn8", "--compress-model=tiny", "--compress-suites=none",
                                           "--compress-no-cache", "-n", "2", "-p", "no:randomly")
    assert result.ret != pytest.ExitCode.OK and "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*ERROR collecting test_a_gate_refused_at_collection_is_reported_under_xdist.py"
                                 "::test_missing*", "*dataset 'missing.jsonl': no such file*",
                                 "Compression gate FAILED: 1 gate could not be evaluated, and no gated metric ran*"])
