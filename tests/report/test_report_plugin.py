"""--compress-report, $GITHUB_STEP_SUMMARY and JUnit user_properties through the plugin."""

import json
import xml.etree.ElementTree as ET

import pytest

ARGS = ["--compress=rtn8,rtn2", "--compress-model=tiny", "--compress-suites=tool_use", "--compress-cases=200",
        "-p", "no:randomly", "-p", "no:cacheprovider"]


@pytest.mark.usefixtures("warm_imports")
def test_report_files_step_summary_and_junit_properties(pytester, monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    from pytest_compress.report.document import schema

    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest(*ARGS, "--compress-report=out/gate", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["report: out/gate/report.json, out/gate/report.md, out/gate/report.html",
                                 f"report: Markdown appended to $GITHUB_STEP_SUMMARY ({summary})"])
    document = json.loads((pytester.path / "out/gate/report.json").read_text())
    jsonschema.validate(document, schema())
    assert document["config"]["specs"] == ["rtn8", "rtn2"] and document["config"]["model"] == "tiny"
    assert [(r["spec"], r["passed"]) for r in document["results"]] == [("rtn8", True), ("rtn2", False)]
    assert (pytester.path / "out/gate/report.md").read_text() in summary.read_text()
    assert "data:image/png;base64," in (pytester.path / "out/gate/report.html").read_text()

    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["tool_use[rtn2]"].iter("property")}
    metric = next(m for m in document["results"][1]["metrics"] if m["metric"] == "tool_use.overall")
    prefix = "compress.rtn2.tool_use.overall"
    assert float(props[f"{prefix}.baseline"]) == pytest.approx(metric["baseline"], abs=1e-6)
    assert float(props[f"{prefix}.compressed"]) == pytest.approx(metric["compressed"], abs=1e-6)
    assert float(props[f"{prefix}.drop"]) == pytest.approx(metric["drop"], abs=1e-6)
    assert [float(props[f"{prefix}.ci_low"]), float(props[f"{prefix}.ci_high"])] == pytest.approx(metric["interval"],
                                                                                                  abs=1e-6)
    assert props[f"{prefix}.limit"] == "max_drop=0.1" and props[f"{prefix}.verdict"] == metric["verdict"]
    assert props[f"{prefix}.passed"] == str(metric["passed"]) and props[f"{prefix}.n"] == str(metric["n"])
    assert props[f"{prefix}.max_drop.status"] == metric["checks"][0]["status"]
    assert float(props[f"{prefix}.max_drop.resolution"]) == pytest.approx(metric["resolution"], abs=1e-6)


@pytest.mark.usefixtures("warm_imports")
def test_no_report_without_the_option_or_the_environment(pytester, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.no_fnmatch_line("report:*")
    assert not list(pytester.path.rglob("report.*"))
