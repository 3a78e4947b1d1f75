"""``pytest --compress-list``: methods, suites, decision modes and where each setting came from."""

import pytest

from pytest_compress.suites.registry import SUITE_MODULES


def test_effective_configuration_names_the_winning_source(pytester):
    pytester.makeini("[pytest]\ncompress_model = tiny\ncompress_decision = strict\ncompress_cases = 12\n"
                     "compress_limits =\n    tool_use: max_drop=0.2\n")
    result = pytester.runpytest("--compress-list", "--compress-decision=lenient", "--compress-limit=needle: min=0.5")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "Compression specs:", "  available in this session: none, rtn*",
        "Suites (metric: direction, default limit):", "  tool_use [[]agentic[]] (n=*); score = overall",
        "    tool_use.overall: higher is better; max_drop=0.1; *",
        "    dataset=FILE.jsonl, one object per line: id: string?, request: string, tool: string, args: object, *",
        "  bfcl [[]agentic[]] *",
        "    dataset= also reads: bfcl:PATH",
        "  needle *", "*", "    dataset= also reads: haystack:PATH",
        "    trust.toxicity.refusal: no better direction; max_change=0.1; *",
        "  lm_eval:<task> [[]lm_eval[]]: any lm-evaluation-harness task *(needs lm-eval: pip install lm-eval)",
        "Decision modes (--compress-decision, ini compress_decision):",
        "  point: an inconclusive check follows its point estimate",
        "  strict: an inconclusive check fails its test*",
        "  lenient: an inconclusive check passes its test (reported as INCONCLUSIVE)*",
        "Effective configuration (value <- where it came from: cli > ini > default):",
        "  compress = (off: pass --compress=SPEC)  <- default",
        "  model = tiny  <- ini",
        "  device = auto  <- default",
        "  cases = 12  <- ini",
        "  decision = lenient  <- cli",
        "  cache_dir = (pytest's cache dir /compress)  <- default",
        "  report = (off: pass --compress-report=DIR)  <- default",
        "  limit tool_use: max_drop=0.2  <- ini",
        "  limit needle: min=0.5  <- cli",
    ])


def test_a_suite_that_cannot_load_is_listed_not_fatal(pytester, monkeypatch):
    monkeypatch.setitem(SUITE_MODULES, "broken_suite", "pytest_compress.suites.no_such_module")
    result = pytester.runpytest("--compress-list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["  tool_use [[]agentic[]] *",
                                 "  broken_suite: cannot be loaded: unknown suite 'broken_suite'*",
                                 "Decision modes*"])


@pytest.mark.parametrize("spec", ["rtn4,awq4", "none"])
def test_specs_and_report_show_with_their_source(pytester, spec):
    result = pytester.runpytest("--compress-list", f"--compress={spec}", "--compress-model=tiny",
                                "--compress-report=out")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"  compress = {spec}  <- cli", "  report = out  <- cli"])
