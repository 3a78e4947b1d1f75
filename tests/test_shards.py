"""Shards and their merge: one gate split over machines, judged as the unsharded session would."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.distributed import WorkerOutput
from pytest_compress.errors import CompressUsageError
from pytest_compress.shards import Shard, ShardFile, check_shards, find_shard_files, parse_shard, shard_slices


@given(st.lists(st.text(max_size=6), max_size=60), st.integers(1, 8))
def test_every_unit_is_in_exactly_one_shard(units, count):
    slices = shard_slices(units, count)
    unique = list(dict.fromkeys(units))
    assert len(slices) == count
    assert [u for s in slices for u in s] == unique  # contiguous, in order, each once
    sizes = [len(s) for s in slices]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(("text", "expected"), [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 8 / 8 ", Shard(8, 8))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected and str(expected) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", ""])
def test_parse_shard_refuses_what_is_not_i_of_n(text):
    with pytest.raises(CompressUsageError, match=r"I/N with 1 <= I <= N"):
        parse_shard(text)


def _shard(index, count=2, units=("a", "b"), model=None, **configuration):
    return ShardFile(Shard(index, count), {"seed": 0, "decision": "lenient", "cache_dir": f"/m{index}",
                                           **configuration},
                     {}, tuple(units), WorkerOutput(), model, 0, f"s{index}.json")


def test_merge_refuses_shards_of_different_configurations_naming_the_difference():
    check_shards([_shard(1), _shard(2)])  # cache directories may differ between machines
    with pytest.raises(CompressUsageError, match=r"different configurations.*seed: 0 vs 1"):
        check_shards([_shard(1), _shard(2, seed=1)])
    with pytest.raises(CompressUsageError, match=r"decision: 'lenient' vs 'strict'"):
        check_shards([_shard(1), _shard(2, decision="strict")])
    with pytest.raises(CompressUsageError, match=r"collected different gates"):
        check_shards([_shard(1), _shard(2, units=("a", "c"))])
    with pytest.raises(CompressUsageError, match=r"different baselines: fingerprint"):
        check_shards([_shard(1, model={"fingerprint": "x"}), _shard(2, model={"fingerprint": "y"})])
    check_shards([_shard(1, model={"fingerprint": "x"}), _shard(2)])  # an empty shard loads no model


def test_merge_refuses_missing_duplicate_and_mixed_shards():
    with pytest.raises(CompressUsageError, match=r"shard 2/3, 3/3 missing"):
        check_shards([_shard(1, 3)])
    with pytest.raises(CompressUsageError, match=r"shard 1/2 given twice"):
        check_shards([_shard(1), _shard(1), _shard(2)])
    with pytest.raises(CompressUsageError, match=r"different splits"):
        check_shards([_shard(1), _shard(2, 3)])
    with pytest.raises(CompressUsageError, match=r"no shard files"):
        check_shards([])


def test_shard_files_round_trip_and_bad_files_are_named(tmp_path):
    shard = _shard(2, 3, model={"fingerprint": "f"})
    path = shard.write(tmp_path)
    assert path.name == "shard-2-of-3.json" and not list(tmp_path.glob(".tmp-*"))
    again = ShardFile.read(path)
    assert (again.shard, again.configuration, again.units, again.model) == (
        shard.shard, shard.configuration, shard.units, shard.model)
    assert find_shard_files([tmp_path]) == [path] and find_shard_files([path]) == [path]
    (tmp_path / "shard-1-of-3.json").write_text('{"format": "pytest-compress-shard", "ver')  # killed mid-write
    with pytest.raises(CompressUsageError, match=r"shard-1-of-3.json: not a readable shard file"):
        ShardFile.read(tmp_path / "shard-1-of-3.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(CompressUsageError, match=r"other.json: not a pytest-compress shard file"):
        ShardFile.read(tmp_path / "other.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompressUsageError, match=r"no shard-I-of-N.json in this directory"):
        find_shard_files([tmp_path / "empty"])
    with pytest.raises(CompressUsageError, match=r"no such shard file or directory"):
        find_shard_files([tmp_path / "absent"])


# -- the plugin, on the tiny model ------------------------------------------------------------
USER_TESTS = '''
from pytest_compress import compress_task

def test_plain():
    assert True

@compress_task("tool_use", n=48, max_drop=0.2)
def test_mine(task_result):
    assert task_result.n > 0

@compress_task("tool_use", n=48, max_drop=0.2)
def test_same_gate_again(task_result):
    assert task_result.n > 0
'''
ARGS = ["--compress=rtn8,rtn2", "--compress-model=tiny", "--compress-suites=tool_use,agreement.rank_correlation",
        "--compress-cases=48", "-p", "no:randomly"]


def _summary(result) -> list[str]:
    """The summary's table, statistics and gate line (timings and cache counts differ legitimately)."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("spec  suite.metric"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Compression gate"))
    return [line for line in lines[start:end + 1]
            if not line.startswith(("time:", "baseline:", "compression:"))]


def _comparable(document: dict) -> dict:
    """A report without what legitimately differs: creation time, timings, cache use and place, compression seconds."""
    drop = {"created", "timings", "counts", "versions"}
    out = {k: v for k, v in document.items() if k not in drop}
    out["results"] = [{k: v for k, v in r.items() if k not in ("baseline_cached", "compressed_cached")}
                      for r in document["results"]]
    out["compression"] = [{k: v for k, v in c.items() if k not in ("seconds", "cached")} for c in document["compression"]]
    out["notes"] = [n for n in document["notes"] if not n.startswith("environment changed")]
    out["counts"] = {k: v for k, v in document["counts"].items() if not k.endswith("_cached")}
    out["config"] = {k: v for k, v in document["config"].items() if k != "cache_dir"}  # one per machine
    return out


@pytest.fixture
def unsharded(pytester, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest(*ARGS, "--compress-cache-dir=whole", "--compress-report=whole",
                                "--junitxml=whole/junit.xml")
    return result, json.loads((pytester.path / "whole" / "report.json").read_text())


@pytest.mark.usefixtures("warm_imports")
@pytest.mark.parametrize("count", [2, 3])
def test_shards_merged_judge_as_the_unsharded_session(pytester, unsharded, count):
    whole, document = unsharded
    # rtn2's four gated tests fail on any CPU; whether one of rtn8's checks is decided or
    # inconclusive depends on the CPU's kernels (bf16 where the CPU has it), so both count
    outcomes = whole.parseoutcomes()
    assert outcomes.get("failed") == 4 and outcomes.get("passed", 0) + outcomes.get("inconclusive", 0) == 5
    shard_dir = f"shards{count}"
    deselected = 0
    for index in range(1, count + 1):
        shard = pytester.runpytest(*ARGS, f"--compress-shard={index}/{count}", f"--compress-report={shard_dir}",
                                   f"--compress-cache-dir=cache{count}")
        assert shard.ret == pytest.ExitCode.OK  # a shard measures; it judges nothing
        shard.stdout.fnmatch_lines([f"*pytest-compress shard {index}/{count}*",
                                    f"shard file: *shard-{index}-of-{count}.json; judge all shards together with:*"])
        assert "Compression gate" not in shard.stdout.str()
        deselected += shard.parseoutcomes().get("deselected", 0)
    assert deselected == (count - 1) * 9  # each of the 9 tests runs in exactly one shard
    merged = pytester.runpytest(f"--compress-merge={shard_dir}", f"--compress-report=merged{count}",
                                f"--junitxml=merged{count}/junit.xml")
    assert merged.ret == whole.ret == pytest.ExitCode.TESTS_FAILED
    assert _summary(merged) == _summary(whole)
    merged_document = json.loads((pytester.path / f"merged{count}" / "report.json").read_text())
    assert _comparable(merged_document) == _comparable(document)
    # One JUnit file from the merge: the gate tests with the unsharded run's properties and failures.
    import xml.etree.ElementTree as ET

    def cases(path):
        root = ET.parse(pytester.path / path).getroot()
        return {(c.get("classname"), c.get("name")): (c.find("failure") is not None,
                                                      {p.get("name"): p.get("value") for p in c.iter("property")})
                for c in root.iter("testcase") if any(True for _ in c.iter("property"))}

    assert cases(f"merged{count}/junit.xml") == cases("whole/junit.xml")


@pytest.mark.usefixtures("warm_imports")
def test_shards_share_a_cache_and_an_empty_shard_is_no_failure(pytester):
    args = ["--compress=rtn8,rtn2", "--compress-model=tiny", "--compress-suites=tool_use", "--compress-cases=16",
            "-p", "no:randomly", "--compress-cache-dir=shared", "--compress-report=out"]
    first = pytester.runpytest(*args, "--compress-shard=1/3")
    first.stdout.fnmatch_lines(["collected 2 items / 1 deselected / 1 selected", "*baseline: computed (0/1 suite evaluations from the cache)*"])
    second = pytester.runpytest(*args, "--compress-shard=2/3")  # rtn2's gate on the same baseline cases
    second.stdout.fnmatch_lines(["*baseline: *cached (1/1 suite evaluations from the cache)*"])
    empty = pytester.runpytest(*args, "--compress-shard=3/3")  # two gates, three shards
    assert empty.ret == pytest.ExitCode.OK
    empty.stdout.fnmatch_lines(["*shard 3/3: 0 of the session's 2 gates measured here*"])
    merged = pytester.runpytest("--compress-merge", "out")
    merged.stdout.fnmatch_lines(["*merged from 3 shards*", "Compression gate passed: 6/6 gated metrics within limits*"])


@pytest.mark.usefixtures("warm_imports")
def test_merge_names_what_differs_and_reports_errored_gates(pytester):
    pytester.makepyfile(test_user='''
from pytest_compress import compress_task

@compress_task("tool_use", dataset="missing.jsonl")
def test_broken(task_result):
    pass
''')
    args = ["--compress=rtn8", "--compress-model=tiny", "--compress-suites=tool_use", "--compress-cases=16",
            "-p", "no:randomly", "-p", "no:cacheprovider", "--compress-report=out"]
    for index in (1, 2):
        pytester.runpytest(*args, f"--compress-shard={index}/2")
    merged = pytester.runpytest("--compress-merge", "out")
    assert merged.ret == pytest.ExitCode.TESTS_FAILED
    # refused at collection in each shard (so nothing ran there): the merge names the error itself
    merged.stdout.fnmatch_lines(["error: test_user.py::test_broken: invalid at collection: "
                                 "@compress_task('tool_use', dataset='missing.jsonl'): *missing.jsonl*: no such file*",
                                 "Compression gate FAILED: 1 gate could not be evaluated, and no gated metric ran*"])
    merged.stdout.no_fnmatch_line("note: shard * exited *")
    assert "passed" not in merged.stdout.lines[-1]
    unwritable = pytester.runpytest("--compress-merge", "out", "--junitxml=out/shard-1-of-2.json/junit.xml")
    assert unwritable.ret == pytest.ExitCode.TESTS_FAILED  # the verdict still decides the exit code
    unwritable.stdout.fnmatch_lines(["junit: could not be written (*); check --junitxml"])
    path = pytester.path / "out" / "shard-2-of-2.json"
    data = json.loads(path.read_text())
    data["configuration"]["seed"] = 7
    path.write_text(json.dumps(data))
    refused = pytester.runpytest("--compress-merge", "out")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["ERROR: pytest-compress merge: shard 2/2 * ran different configurations*seed: 0 vs 7*"])
    (pytester.path / "out" / "shard-1-of-2.json").unlink()
    pytester.runpytest("--compress-merge", "out").stdout.fnmatch_lines(["*shard 1/2 missing*"])


def test_a_shard_needs_a_report_directory_and_a_gate(pytester):
    result = pytester.runpytest("--compress=rtn8", "--compress-model=tiny", "--compress-shard=1/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*compress_shard needs a report directory*--compress-report=DIR*"])
    result = pytester.runpytest("--compress-shard=1/2", "--compress-report=out")
    result.stderr.fnmatch_lines(["*compress_shard splits a gate, and none is configured*"])
    result = pytester.runpytest("--compress=rtn8", "--compress-shard=0/2")
    result.stderr.fnmatch_lines(["*I/N with 1 <= I <= N*"])
    result = pytester.runpytest("--compress=rtn8", "--compress-merge", "out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*judges the shards' results and runs nothing*"])
