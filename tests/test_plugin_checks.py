"""Check before you spend: every marked gate's suite, keywords, limits and dataset are checked
at collection, before any model loads; bad model files and caches are one clear message."""

import os
import time
from pathlib import Path

import pytest

from pytest_compress.plugin import CACHE_DIR_OPTION, COMPRESS_OPTION, MODEL_OPTION, NO_CACHE_OPTION, SUITES_OPTION

pytestmark = pytest.mark.usefixtures("warm_imports")

QUICK = [f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}=tiny", f"{SUITES_OPTION}=none", NO_CACHE_OPTION,
         "-p", "no:randomly"]
#: a conftest that fails any model load, and records whether torch was ever imported
NO_LOAD = """
import sys
from pathlib import Path

import pytest_compress.runner as runner

LOAD = runner.GateRunner._load

def _refuse(*args, **kwargs):
    raise AssertionError("a model was loaded")

def pytest_configure(config):
    runner.GateRunner._load = _refuse

def pytest_unconfigure(config):
    runner.GateRunner._load = LOAD  # in-process runs share the module with later tests
    Path("torch_imported").write_text(str("torch" in sys.modules))
"""
GOOD = '''
@agentic_task("tool_use", n=4)
def test_good(task_result):
    pass
'''
# (marker arguments, what the error says): each is a collection error on its own test
BAD = {
    "malformed": ("'tool_use', dataset='bad.jsonl'", "dataset 'bad.jsonl', line 1: not valid JSON"),
    "missing": ("'tool_use', dataset='missing.jsonl'", "dataset 'missing.jsonl': no such file"),
    "keyword": ("'tool_use', nn=5", "suite 'tool_use' has no parameter 'nn'. Did you mean 'n'?"),
    "decision": ("'tool_use', decision='strictest'", "decision must be one of point, strict, lenient"),
    "suite": ("'tool_uses'", "unknown suite 'tool_uses'. Did you mean 'tool_use'?"),
    "limit": ("'tool_use', max_drop=-1", ">= 0"),
    "format": ("'tool_use', dataset='bfcl:cases.json'", "suite 'tool_use' does not read 'bfcl' files"),
    "field": ("'tool_use', dataset='wrong_type.jsonl'", "dataset 'wrong_type.jsonl', line 1"),
}


def _project(pytester, *names, good=False):
    pytester.makeconftest(NO_LOAD)
    pytester.path.joinpath("bad.jsonl").write_text('{"id": "a2", "tool": \n')
    pytester.path.joinpath("wrong_type.jsonl").write_text('{"id": "a1", "tool": 5}\n')
    pytester.path.joinpath("cases.json").write_text("{}\n")
    body = "from pytest_compress import agentic_task\n" + (GOOD if good else "")
    for name in names:
        args = BAD[name][0]
        body += f"\n@agentic_task({args})\ndef test_{name}(task_result):\n    pass\n"
    pytester.makepyfile(test_gates=body)


def _above_short_summary(out):
    """The output above pytest's short test summary, which repeats each error's message (cut to
    the terminal's width, except where the CI variable is set: there pytest prints it whole)."""
    return out.split("short test summary info")[0]


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_gate_is_a_collection_error_on_its_test_before_any_load(pytester, name):
    _project(pytester, name)
    result = pytester.runpytest(*QUICK)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    result.stdout.fnmatch_lines([f"*ERROR collecting test_gates.py::test_{name}*",
                                 f"@agentic_task({BAD[name][0]}): *{BAD[name][1]}*",
                                 f"error: test_gates.py::test_{name}: its marker or dataset is invalid*",
                                 "Compression gate FAILED: 1 gate could not be evaluated, and no gated metric ran*"])
    assert "passed" not in out.splitlines()[-1] and "Compression gate passed" not in out
    assert _above_short_summary(out).count(BAD[name][1]) == 1
    assert "a model was loaded" not in out and "Traceback" not in out


def test_one_bad_gate_stops_the_session_before_the_good_ones_load_a_model(pytester):
    _project(pytester, "missing", "keyword", good=True)
    result = pytester.runpytest(*QUICK)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*Interrupted: 2 errors during collection*"])
    result.stdout.no_fnmatch_line("*Compression gate passed*")
    assert "a model was loaded" not in result.stdout.str()


def test_a_gate_parametrized_over_specs_reports_its_error_once(pytester):
    _project(pytester, "missing")
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8,rtn4", *QUICK[1:])
    assert _above_short_summary(result.stdout.str()).count("no such file") == 1
    result.stdout.fnmatch_lines(["*1 error*"])


def test_a_foreign_dataset_says_what_it_was_read_as(pytester):
    from pytest_compress.suites.bfcl import SAMPLE_DIR

    pytester.makepyfile(f"""
from pytest_compress import agentic_task

@agentic_task("bfcl", dataset="bfcl:{SAMPLE_DIR / 'BFCL_v4_parallel.json'}", n=2)
def test_calls(task_result):
    pass
""")
    result = pytester.runpytest(*QUICK)
    result.stdout.fnmatch_lines([f"dataset {SAMPLE_DIR / 'BFCL_v4_parallel.json'}: read as bfcl, 2 cases used"])


@pytest.mark.slow
def test_bad_gates_fail_fast_on_smollm2_without_loading_it(pytester):
    """The issue's bar: a malformed dataset, a missing one and a bad keyword each fail in
    under 5 s with SmolLM2 as the model, torch never imported (so nothing was loaded)."""
    for name in ("malformed", "missing", "keyword"):
        _project(pytester, name)
        start = time.perf_counter()
        result = pytester.runpytest_subprocess(f"{COMPRESS_OPTION}=rtn4", f"{SUITES_OPTION}=none", "-p", "no:randomly")
        elapsed = time.perf_counter() - start
        assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
        result.stdout.fnmatch_lines([f"*{BAD[name][1]}*", "Compression gate FAILED*no gated metric ran*"])
        assert pytester.path.joinpath("torch_imported").read_text() == "False"
        assert elapsed < 5, f"{name}: {elapsed:.1f}s"


# -- model files and caches -----------------------------------------------------------------

def _one_line_usage_error(result, *fragments):
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    lines = [line for line in text.splitlines() if fragments[0] in line]
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), text
    assert "Traceback" not in text


def test_a_truncated_gguf_is_one_line_naming_the_file(pytester):
    from pytest_compress.models.loading import EMBEDDED_SMOLLM2, resolve_model

    source = resolve_model(EMBEDDED_SMOLLM2)  # the first MiB of a real GGUF file
    truncated = pytester.path / "cut.gguf"
    with open(Path(source.location) / source.gguf_file, "rb") as f:
        truncated.write_bytes(f.read(2**20))
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}={truncated}")
    _one_line_usage_error(result, str(truncated), "is truncated or corrupt", "re-download or re-export it")


def test_a_model_dir_without_weights_is_a_usage_error(pytester):
    folder = pytester.mkdir("model")
    (folder / "config.json").write_text('{"model_type": "llama"}')
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}={folder}")
    _one_line_usage_error(result, str(folder), "has a config.json but no weights")


def test_an_unsupported_architecture_stops_the_session_once(pytester):
    from pytest_compress.models.loading import TINY_DIR

    folder = pytester.mkdir("model")
    for file in TINY_DIR.iterdir():
        if file.is_file() and file.suffix in (".json", ".safetensors"):
            (folder / file.name).write_bytes(file.read_bytes())
    config = (folder / "config.json").read_text().replace('"model_type": "llama"', '"model_type": "no_such_arch"')
    (folder / "config.json").write_text(config)
    pytester.makepyfile(GOOD.join(["from pytest_compress import agentic_task\n", ""]) + GOOD.replace("good", "other"))
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}={folder}", f"{SUITES_OPTION}=none",
                                NO_CACHE_OPTION)
    _one_line_usage_error(result, "model_type 'no_such_arch' is not a causal language model", "upgrade transformers")


def test_an_unwritable_cache_dir_is_a_usage_error_before_anything_runs(pytester):
    blocker = pytester.path / "not_a_dir"
    blocker.write_text("a file where the cache directory should go")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}=tiny", f"{CACHE_DIR_OPTION}={blocker}/c")
    _one_line_usage_error(result, f"the cache directory {blocker}/c is not writable", "--compress-no-cache")


def test_a_cache_that_fills_up_mid_run_is_dropped_with_one_line(pytester, monkeypatch):
    import errno
    import types

    import pytest_compress.cache as cache

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache, "tempfile", types.SimpleNamespace(mkstemp=full))
    pytester.makepyfile(GOOD.join(["from pytest_compress import agentic_task\n", ""]))
    result = pytester.runpytest(*QUICK[:3], f"{CACHE_DIR_OPTION}={pytester.path / 'cache'}", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str()
    assert out.count("cache disabled: could not write under") == 1 and "No space left on device" in out
    result.stdout.fnmatch_lines(["Compression gate passed*"])
    assert Path(pytester.path / "cache").is_dir()


def test_an_unavailable_device_stops_the_session_once(pytester):
    pytester.makepyfile(GOOD.join(["from pytest_compress import agentic_task\n", ""]) + GOOD.replace("good", "other"))
    result = pytester.runpytest(*QUICK, "--compress-device=cuda:7")
    _one_line_usage_error(result, "--compress-device=cuda:7 but")


# -- the closing line of sessions that fail while they run ------------------------------------

RUN_FAILS = """
import pytest_compress.runner as runner
from pytest_compress.errors import CompressError

MEASURE = runner.GateRunner.measure

def _broken(self, spec, suite, *args, **kwargs):
    if suite == "workflow":
        raise CompressError("the workflow suite broke while it ran")
    return MEASURE(self, spec, suite, *args, **kwargs)

def pytest_configure(config):
    runner.GateRunner.measure = _broken

def pytest_unconfigure(config):
    runner.GateRunner.measure = MEASURE
"""


def test_a_gate_that_fails_while_it_runs_is_said_once_and_fails_the_closing_line(pytester):
    pytester.makeconftest(RUN_FAILS)
    pytester.makepyfile("""
from pytest_compress import agentic_task

@agentic_task("workflow", n=2)
def test_flow(task_result):
    pass

@agentic_task("tool_use", n=2)
def test_tools(task_result):
    pass
""")
    result = pytester.runpytest(*QUICK)
    text = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _above_short_summary(text).count("the workflow suite broke while it ran") == 1, text
    assert "During handling of the above exception" not in text
    result.stdout.fnmatch_lines(["Compression gate FAILED: 1 gate could not be evaluated*"])


def test_a_session_whose_own_test_fails_never_closes_with_passed(pytester):
    pytester.makepyfile("""
from pytest_compress import agentic_task

@agentic_task("tool_use", n=2)
def test_tools(task_result):
    assert False, "the test's own check"

def test_plain():
    pass
""")
    result = pytester.runpytest(*QUICK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.no_fnmatch_line("Compression gate passed*")
    result.stdout.fnmatch_lines(["Compression gate within limits: *but the session failed: 1 test failed or errored*"])
