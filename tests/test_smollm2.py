"""The spine's acceptance on the real embedded model (SmolLM2-135M-Instruct), via pytester."""

import re

import pytest

from pytest_compress.plugin import COMPRESS_OPTION

pytestmark = pytest.mark.slow


def test_none_and_rtn8_pass_rtn2_fails_on_smollm2(pytester, smollm2_cache):
    result = pytester.runpytest(
        f"{COMPRESS_OPTION}=none,rtn8,rtn2", "--compress-model=smollm2-135m",
        "--compress-suites=tool_use,agreement.rank_correlation",
        f"--compress-cache-dir={smollm2_cache}", "-v", "-p", "no:randomly",
    )
    result.stdout.fnmatch_lines_random([
        "*compress::tool_use[[]none[]] PASSED*",  # identical models: decided exactly
        "*compress::tool_use[[]rtn2[]] FAILED*",
        "*compress::agreement*rank_correlation[[]none[]] PASSED*",
        "*compress::agreement*rank_correlation[[]rtn2[]] FAILED*",
        "*drop > max_drop 0.1 shown*",
        "gate rtn8: 4 statistical checks, Holm across them*",
        "Compression gate FAILED: *",
    ])
    text = result.stdout.str()
    # rtn8 is never shown to fail; at the default caps some of its checks may stay undecided
    for suite in (r"tool_use", r"agreement(\.|::)rank_correlation"):  # pytest shows the dot as ::
        assert re.search(rf"compress::{suite}\[rtn8\] (PASSED|INCONCLUSIVE)", text), suite
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 2 and outcomes.get("passed", 0) + outcomes.get("inconclusive", 0) == 4


@pytest.mark.usefixtures("warm_imports")  # several in-process runs: keep what they import
def test_two_shards_merged_judge_as_one_session_on_smollm2(pytester, smollm2_cache, monkeypatch):
    """The shards share the session's SmolLM2 cache (as CI machines sharing a cache would), so
    this costs three model loads; the merged verdicts and numbers must be the unsharded ones."""
    import json

    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    args = [f"{COMPRESS_OPTION}=none,rtn8,rtn2", "--compress-model=smollm2-135m",
            "--compress-suites=tool_use,agreement.rank_correlation", f"--compress-cache-dir={smollm2_cache}",
            "-p", "no:randomly"]
    whole = pytester.runpytest(*args, "--compress-report=whole")
    for index in (1, 2):
        assert pytester.runpytest(*args, f"--compress-shard={index}/2", "--compress-report=shards").ret == 0
    merged = pytester.runpytest("--compress-merge", "shards", "--compress-report=merged")
    assert merged.ret == whole.ret == pytest.ExitCode.TESTS_FAILED
    documents = [json.loads((pytester.path / d / "report.json").read_text()) for d in ("whole", "merged")]
    keep = ("spec", "suite", "n", "stopped", "family", "passed", "metrics")
    assert [{k: r[k] for k in keep} for r in documents[0]["results"]] == [
        {k: r[k] for k in keep} for r in documents[1]["results"]]
    assert documents[0]["gate"] == documents[1]["gate"] and documents[0]["gate"].startswith("Compression gate FAILED")
