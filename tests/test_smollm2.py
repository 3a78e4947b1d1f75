"""The spine's acceptance on the real embedded model (SmolLM2-135M-Instruct), via pytester."""

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
        "*compress::tool_use[[]none[]] PASSED*",
        "*compress::tool_use[[]rtn8[]] PASSED*",
        "*compress::tool_use[[]rtn2[]] FAILED*",
        "*compress::agreement*rank_correlation[[]none[]] PASSED*",
        "*compress::agreement*rank_correlation[[]rtn8[]] PASSED*",
        "*compress::agreement*rank_correlation[[]rtn2[]] FAILED*",
        "*tool_use.overall: baseline 0.* -> compressed 0.*, drop +0.*",
        "Compression gate FAILED: *",
    ])
    result.assert_outcomes(passed=4, failed=2)
