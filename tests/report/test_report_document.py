"""report.json (schema), report.md, report.html and the GitHub job summary, from a real tiny-model gate."""

import base64
import io
import json
import re

import pytest

from pytest_compress.report import STEP_SUMMARY_ENV, append_step_summary, write_reports
from pytest_compress.report.document import SCHEMA_VERSION, build_document, schema
from pytest_compress.report.html import render_html
from pytest_compress.report.markdown import render_markdown

jsonschema = pytest.importorskip("jsonschema")

CONFIG = {"model": "tiny", "decision": "point", "seed": 0, "specs": ["rtn8", "rtn2"]}


@pytest.fixture(scope="module")
def gate():
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    runner = GateRunner(RunConfig(model="tiny", use_cache=False, decision="point"))
    results = [runner.evaluate(parse_spec(spec), suite, {"n": 12})
               for spec in ("rtn8", "rtn2") for suite in ("tool_use", "agreement.rank_correlation")]
    return runner, results


@pytest.fixture(scope="module")
def document(gate):
    runner, results = gate
    return build_document(results, config=CONFIG, compression=list(runner.reports.values()),
                          timings=dict(runner.timings), cache_events=["a cache event"])


def validate(document):
    validator = jsonschema.Draft202012Validator(schema())
    return sorted(e.message for e in validator.iter_errors(document))


def test_the_schema_is_itself_valid_and_versioned():
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_document_validates_and_holds_the_numbers(document, gate):
    _, results = gate
    assert validate(document) == []
    assert document["schema_version"] == SCHEMA_VERSION and document["passed"] is False
    assert document["gate"].startswith("Compression gate FAILED: ")
    assert document["counts"]["suite_evaluations"] == 4 and document["counts"]["failed_metrics"] >= 2
    tool = next(r for r in document["results"] if r["spec"] == "rtn2" and r["suite"] == "tool_use")
    overall = next(m for m in tool["metrics"] if m["metric"] == "tool_use.overall")
    expected = results[2].metrics["overall"]
    assert overall["baseline"] == expected.baseline.score and overall["drop"] == expected.drop
    assert overall["interval"] == list(expected.interval) and overall["passed"] is False
    assert overall["verdict"] == expected.verdict.status in ("fail", "inconclusive")
    assert [c["key"] for c in overall["checks"]] == ["max_drop"] and overall["resolution"] > 0
    assert [c["spec"] for c in document["compression"]] == ["rtn8", "rtn2"]
    assert "a cache event" in document["notes"]
    json.dumps(document, allow_nan=False)  # strict JSON


@pytest.mark.parametrize("break_it, complaint", [
    (lambda d: d["results"][0]["metrics"][0].update(verdict="maybe"), "'maybe' is not one of"),
    (lambda d: d.pop("results"), "'results' is a required property"),
    (lambda d: d.update(schema_version=1), "2 was expected"),
    (lambda d: d["results"][0]["metrics"][0].update(interval=[0.1]), "is too short"),
    (lambda d: d["results"][0]["metrics"][0]["limit"].update(maxdrop=0.1), "Additional properties"),
])
def test_schema_rejects_broken_documents(document, break_it, complaint):
    broken = json.loads(json.dumps(document))
    break_it(broken)
    assert any(complaint in message for message in validate(broken))


def test_non_finite_numbers_become_null(gate):
    import dataclasses

    _, results = gate
    r = results[0]
    m = r.metrics["overall"]
    nan_metric = dataclasses.replace(m, drop=float("nan"), interval=(float("nan"), float("inf")))
    doc = build_document([dataclasses.replace(r, metrics={**r.metrics, "overall": nan_metric})], config=CONFIG)
    metric = next(x for x in doc["results"][0]["metrics"] if x["metric"] == "tool_use.overall")
    assert metric["drop"] is None and metric["interval"] == [None, None]
    assert validate(doc) == []
    assert "| rtn8 | tool_use.overall | 12 | " in render_markdown(doc) and "n/a" in render_markdown(doc)
    render_html(doc)  # plots skip what is undefined instead of failing


def test_markdown_has_the_verdict_and_one_row_per_metric(document):
    text = render_markdown(document)
    assert text.startswith("## ❌ pytest-compress: Compression gate FAILED")
    rows = [line for line in text.splitlines() if line.startswith("| rtn")]
    assert len(rows) == sum(len(r["metrics"]) for r in document["results"])
    assert re.search(r"^\| rtn2 \| tool_use\.overall \| 12 \| [\d.]+ \| [\d.]+ \| \+[\d.]+ \| \[.*\] \| \+-[\d.]+ \| "
                     r"max_drop=0\.1 \| (FAIL|INCONCLUSIVE \(fail)", text, re.M)
    assert "| `rtn2` | 2.14 |" in text and "- a cache event" in text


def _images(page: str) -> dict[str, bytes]:
    return {m.group(1): base64.b64decode(m.group(2))
            for m in re.finditer(r"<figure id='([\w-]+)'><img alt='[^']*' src='data:image/png;base64,([^']+)'>", page)}


def test_html_embeds_three_decodable_plots(document):
    from PIL import Image

    page = render_html(document)
    images = _images(page)
    assert sorted(images) == ["drops", "rank-correlation", "scores"]
    for data in images.values():
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
    for status in ("fail", "inconclusive"):
        assert page.count(f"<tr class='{status}'>") == sum(
            m["verdict"] == status for r in document["results"] for m in r["metrics"])


def test_rank_correlation_plot_needs_agreement_results(gate):
    _, results = gate
    doc = build_document([r for r in results if r.suite == "tool_use"], config=CONFIG)
    assert sorted(_images(render_html(doc))) == ["drops", "scores"]


def test_write_reports_and_step_summary(document, tmp_path):
    paths = write_reports(tmp_path / "out", document)
    assert [p.name for p in paths] == ["report.json", "report.md", "report.html"]
    assert validate(json.loads(paths[0].read_text())) == []
    assert not list((tmp_path / "out").glob(".tmp-*"))
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    assert append_step_summary(document, {STEP_SUMMARY_ENV: str(summary)}) == summary
    assert append_step_summary(document, {}) is None
    text = summary.read_text()
    assert text.startswith("earlier step\n## ❌ pytest-compress") and text.count("| rtn2 | tool_use.overall") == 1


def test_a_report_names_what_each_errored_gate_said():
    """A report is read without the terminal output beside it: an error is written out, not pointed at."""
    errors = [("test_x.py::test_a[rtn4]", "dataset missing.jsonl: no such file\nmore")]
    doc = build_document([], config=CONFIG, errors=errors)
    assert "error: test_x.py::test_a[rtn4]: dataset missing.jsonl: no such file" in doc["notes"]
    assert doc["gate"].startswith("Compression gate FAILED: 1 gate could not be evaluated")


def test_what_runs_quantized_is_counted_beside_the_weights_in_every_report():
    from pytest_compress.compress.api import CompressionReport
    from pytest_compress.report.terminal import render

    report = CompressionReport("awq4+kv8", 80.0, 4.17, 0.0, 1 << 20, runtime_bits={"kv": 8.25})
    w8a8 = CompressionReport("w8a8", 3.0, 8.02, 0.0, 1 << 20, runtime_bits={"activation": 8.0449})
    lines = render([], decision="lenient", timings={}, reports=[report, w8a8])
    assert lines[0].startswith("awq4+kv8: 4.17 bits/weight, runs with KV cache 8.25 bits, sparsity 0.0%")
    assert lines[1].startswith("w8a8: 8.02 bits/weight, runs with activations 8.04 bits, sparsity")
    document = build_document([], config={}, compression=[report, w8a8])
    compression_schema = {"$defs": schema()["$defs"], **schema()["$defs"]["compression"]}
    for entry in document["compression"]:
        assert list(jsonschema.Draft202012Validator(compression_schema).iter_errors(entry)) == []
    assert document["compression"][0]["runtime_bits"] == {"kv": 8.25}
    assert "| `awq4+kv8` | 4.17 (KV cache 8.25 bits) |" in render_markdown(document)
    assert "4.17 (KV cache 8.25 bits)</td>" in render_html(document)
