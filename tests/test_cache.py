import json
import multiprocessing
import os

import pytest
import torch

from pytest_compress.cache import Cache, describe_change, make_key


def test_json_round_trip_and_counts(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("outputs", "abc", 1)
    assert cache.get_json("outputs", key) is None
    cache.put_json("outputs", key, [{"a": 1.5}])
    assert cache.get_json("outputs", key) == [{"a": 1.5}]
    assert cache.hits["outputs"] == 1 and cache.misses["outputs"] == 1


def _entry(tmp_path, key):
    return next(tmp_path.rglob(f"{key}.*"))


def test_truncated_entry_is_reported_removed_and_recomputed(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("k")
    cache.put_json("outputs", key, {"x": list(range(100))})
    path = _entry(tmp_path, key)
    path.write_bytes(path.read_bytes()[:50])
    assert cache.get_json("outputs", key) is None
    assert not path.exists() and "corrupt cache entry" in cache.events[0]
    value, cached = cache.json_or_compute("outputs", key, lambda: {"x": 1})
    assert (value, cached) == ({"x": 1}, False)


def test_tampered_payload_fails_its_digest(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("k2")
    cache.put_json("outputs", key, {"score": 0.5})
    path = _entry(tmp_path, key)
    entry = json.loads(path.read_text())
    entry["payload"]["score"] = 0.9
    path.write_text(json.dumps(entry))
    assert cache.get_json("outputs", key) is None and "digest mismatch" in cache.events[0]


def test_a_write_killed_midway_leaves_no_entry(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("k3")

    def dies(tmp):
        with open(tmp, "wb") as f:
            f.write(b'{"format": 1, "pay')
        raise KeyboardInterrupt

    try:
        cache._write_atomic(cache._path("outputs", key, "json"), dies)
    except KeyboardInterrupt:
        pass
    assert cache.get_json("outputs", key) is None
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("kind", ["json", "tensors"])
def test_a_full_disk_turns_caching_off_once_and_loses_nothing(tmp_path, monkeypatch, kind):
    import errno
    import safetensors.torch

    cache = Cache(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if kind == "json":
        monkeypatch.setattr(os, "replace", full)
    else:  # safetensors reports the failed write as its own error type
        def rust_full(*args, **kwargs):
            raise safetensors.SafetensorError("Error while serializing: IoError(No space left on device)")
        monkeypatch.setattr(safetensors.torch, "save_file", rust_full)
    payload, cached = cache.json_or_compute("outputs", make_key("a"), lambda: {"x": 1})
    assert payload == {"x": 1} and not cached
    if kind == "tensors":
        cache.put_tensors("compressed", make_key("w"), {"a": torch.zeros(2)})
    cache.put_json("outputs", make_key("b"), {"y": 2})  # after giving up: silently a no-op
    assert not cache.enabled and len(cache.events) == 1
    assert cache.events[0].startswith(f"cache disabled: could not write under {tmp_path}")
    assert "--compress-cache-dir" in cache.events[0] and not list(tmp_path.rglob(".tmp-*"))


def test_check_writable_refuses_a_path_that_cannot_be_a_directory(tmp_path):
    from pytest_compress.cache import check_writable
    from pytest_compress.errors import CompressUsageError

    check_writable(tmp_path / "new" / "cache")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CompressUsageError, match="is not writable.*--compress-no-cache"):
        check_writable(tmp_path / "file" / "cache")


def test_tensor_entries_round_trip_and_detect_corruption(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("w")
    tensors = {"a": torch.arange(12, dtype=torch.float32).reshape(3, 4)}
    cache.put_tensors("compressed", key, tensors, {"report": "{}"})
    got, meta = cache.get_tensors("compressed", key)
    assert torch.equal(got["a"], tensors["a"]) and meta["report"] == "{}"
    path = _entry(tmp_path, key)
    data = bytearray(path.read_bytes())
    data[-4] ^= 0xFF  # flip bits inside the tensor data
    path.write_bytes(bytes(data))
    assert cache.get_tensors("compressed", key) is None and cache.events


def test_disabled_and_refresh(tmp_path):
    Cache(tmp_path).put_json("o", "k" * 64, 1)
    assert Cache(tmp_path, enabled=False).get_json("o", "k" * 64) is None
    assert Cache(tmp_path, refresh=True).get_json("o", "k" * 64) is None
    assert Cache(None).get_json("o", "k" * 64) is None


def _race(root, key, counter):
    cache = Cache(root)

    def compute():
        with open(counter, "a") as f:
            f.write("x")
        return {"pid": os.getpid()}

    cache.json_or_compute("outputs", key, compute)


def test_two_processes_racing_on_one_key_compute_once(tmp_path):
    key = make_key("race")
    counter = tmp_path / "count"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_race, args=(tmp_path / "c", key, counter)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert counter.read_text() == "x"  # computed once: the second process waited and read the entry
    entries = list((tmp_path / "c").rglob("*.json"))
    assert [e.name for e in entries] == [f"{key}.json"] and not list((tmp_path / "c").rglob(".tmp-*"))
    assert Cache(tmp_path / "c").get_json("outputs", key)["pid"] in {p.pid for p in procs}


def test_entry_from_another_environment_is_reported_and_recomputed(tmp_path):
    cache = Cache(tmp_path)
    old_env = {"torch": "2.12.0", "transformers": "5.0.0", "device": "cpu", "dtype": "float32"}
    new_env = {**old_env, "torch": "2.13.0"}
    lineage = make_key("outputs", "weights", "suite")
    calls = []

    def compute():
        calls.append(1)
        return {"answers": [len(calls)]}

    first, cached = cache.json_or_compute("outputs", make_key(lineage, old_env), compute,
                                          environment=old_env, lineage=lineage, label="tool_use on the baseline")
    assert not cached and cache.events == []
    again, cached = cache.json_or_compute("outputs", make_key(lineage, new_env), compute,
                                          environment=new_env, lineage=lineage, label="tool_use on the baseline")
    assert not cached and again == {"answers": [2]} and len(calls) == 2
    assert cache.events == ["environment changed since tool_use on the baseline was cached "
                            "(torch 2.12.0 -> 2.13.0): recomputed, not reused"]
    # An entry whose recorded environment differs from the one asked for is never served,
    # even under its own key.
    assert cache.get_json("outputs", make_key(lineage, old_env), environment=new_env) is None
    assert "computed in another environment (torch 2.12.0 -> 2.13.0)" in cache.events[-1]
    assert cache.get_json("outputs", make_key(lineage, old_env), environment=old_env) == {"answers": [1]}


def _write_then_hang(root, key, ready):
    """Start writing an entry, say so, then hang (the parent kills this process mid-write)."""
    import time

    cache = Cache(root)

    def slow_write(tmp):
        with open(tmp, "wb") as f:
            f.write(b'{"format": 1, "key": "')
            f.flush()
            with open(ready, "w") as signal:
                signal.write("writing")
            time.sleep(120)

    with cache.lock("outputs", key):
        cache._write_atomic(cache._path("outputs", key, "json"), slow_write)


def test_a_process_killed_mid_write_leaves_no_entry_and_no_held_lock(tmp_path):
    import signal
    import time

    key = make_key("killed")
    ready = tmp_path / "ready"
    proc = multiprocessing.get_context("spawn").Process(target=_write_then_hang, args=(tmp_path / "c", key, ready))
    proc.start()
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the writer never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert list((tmp_path / "c").rglob(".tmp-*")), "the half-written temporary file should be left behind"
    cache = Cache(tmp_path / "c")
    assert cache.get_json("outputs", key) is None  # the half-written file is never the entry
    value, cached = cache.json_or_compute("outputs", key, lambda: {"fresh": True})  # the kernel freed the lock
    assert (value, cached) == ({"fresh": True}, False)
    assert Cache(tmp_path / "c").get_json("outputs", key) == {"fresh": True}


def test_truncated_tensor_entry_is_reported_and_recomputed(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("weights")
    cache.put_tensors("compressed", key, {"w": torch.ones(64, 64)}, {"report": "{}"})
    path = _entry(tmp_path, key)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert cache.get_tensors("compressed", key) is None
    assert not path.exists() and "corrupt cache entry" in cache.events[0]
    cache.put_tensors("compressed", key, {"w": torch.zeros(2, 2)})
    assert torch.equal(cache.get_tensors("compressed", key)[0]["w"], torch.zeros(2, 2))


def test_describe_change_names_every_difference():
    assert describe_change({"torch": "1", "dtype": "float32"}, {"torch": "2", "dtype": "float32", "gpu": "H100"}) == (
        "gpu ? -> H100, torch 1 -> 2")
    assert describe_change(None, None) == "no recorded difference"


# -- the cache through the gate runner and the plugin, on the shipped tiny model ----------------
def _tiny_copy(target):
    import shutil

    from pytest_compress.models.loading import TINY_DIR

    shutil.copytree(TINY_DIR, target, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return target


def _gate(model_dir, cache_dir, **config):
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    runner = GateRunner(RunConfig(model=str(model_dir), cache_dir=cache_dir, **config))
    result = runner.evaluate(parse_spec("rtn8"), "tool_use", {"n": 8})
    return runner, result


def test_model_swap_same_name_new_weights_is_never_a_stale_hit(tmp_path):
    from safetensors.torch import load_file, save_file

    model = _tiny_copy(tmp_path / "a" / "model")
    cache = tmp_path / "cache"
    first, _ = _gate(model, cache)
    assert first.cache.hits["outputs"] == 0 and first.cache.misses["outputs"] == 2
    # Same directory, same name, different weights (one matrix nudged).
    weights = load_file(model / "model.safetensors")
    name = next(n for n in sorted(weights) if n.endswith("mlp.down_proj.weight"))
    weights[name] = weights[name] * 1.01
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})
    swapped, result = _gate(model, cache)
    assert sum(swapped.cache.hits.values()) == 0, "a changed model must not be served any cached entry"
    assert not result.baseline_cached and not result.compressed_cached
    assert swapped.baseline.fingerprint != first.baseline.fingerprint
    # The original weights under another path and another name: every entry is a hit.
    other = _tiny_copy(tmp_path / "b" / "renamed")
    moved, result = _gate(other, cache)
    assert result.baseline_cached and result.compressed_cached
    assert moved.cache.misses["outputs"] == 0 and moved.cache.hits["compressed"] == 1
    assert moved.baseline.fingerprint == first.baseline.fingerprint


def test_new_environment_reports_and_recomputes_the_baseline(tmp_path):
    cache = tmp_path / "cache"
    _gate("tiny", cache, dtype="float32")
    runner, result = _gate("tiny", cache, dtype="bfloat16")
    assert not result.baseline_cached
    changed = [e for e in runner.cache.events if e.startswith("environment changed")]
    assert changed and "tool_use(" in changed[0] and "on the baseline" in changed[0]
    assert "dtype float32 -> bfloat16" in changed[0]
    again, result = _gate("tiny", cache, dtype="bfloat16")
    assert result.baseline_cached and again.cache.events == []


CACHE_ARGS = ["--compress=rtn8", "--compress-model=tiny", "--compress-suites=tool_use", "--compress-cases=200",
              "-p", "no:randomly"]


def _files(root):
    return sorted((p.relative_to(root).as_posix(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file())


@pytest.mark.usefixtures("warm_imports")
def test_cache_options_through_the_plugin(pytester):
    cache_dir = pytester.path / "gate-cache"
    args = [*CACHE_ARGS, f"--compress-cache-dir={cache_dir}"]
    cold = pytester.runpytest(*args)
    cold.assert_outcomes(passed=1)
    cold.stdout.fnmatch_lines(["[[]pytest-compress[]] compress rtn8: [[]*[]] 21/21 *",
                               "baseline: computed (0/1 suite evaluations from the cache)",
                               "compression: computed (0/1 specs from the cache)"])
    assert list(cache_dir.glob("outputs/*/*.json")) and list(cache_dir.glob("compressed/*/*.safetensors"))
    assert not (pytester.path / ".pytest_cache" / "d" / "compress" / "outputs").exists()

    warm = pytester.runpytest(*args)  # the Done-when line: nothing recomputed, and the summary says so
    warm.assert_outcomes(passed=1)
    warm.stdout.fnmatch_lines(["rtn8: *compressed: cached", "baseline: cached (1/1 suite evaluations from the cache)",
                               "compression: cached (1/1 specs from the cache)"])
    warm.stdout.no_fnmatch_line("*compress rtn8: [[]*")  # no per-layer compression progress: it did not run

    before = _files(cache_dir)
    uncached = pytester.runpytest(*args, "--compress-no-cache")
    uncached.assert_outcomes(passed=1)
    uncached.stdout.fnmatch_lines(["baseline: computed (0/1*", "compression: computed (0/1*"])
    assert _files(cache_dir) == before, "--compress-no-cache must not write the cache"

    refreshed = pytester.runpytest(*args, "--compress-refresh")
    refreshed.assert_outcomes(passed=1)
    refreshed.stdout.fnmatch_lines(["baseline: computed (0/1*", "compression: computed (0/1*"])
    assert _files(cache_dir) != before, "--compress-refresh must overwrite the entries"
    pytester.runpytest(*args).stdout.fnmatch_lines(["baseline: cached (1/1*"])


def test_suite_parameters_and_cases_are_in_the_key(tmp_path):
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    def baseline_cached(params):
        runner = GateRunner(RunConfig(model="tiny", cache_dir=tmp_path))
        return runner.evaluate(parse_spec("none"), "tool_use", params).baseline_cached

    assert not baseline_cached({"n": 6})
    assert baseline_cached({"n": 6})
    assert not baseline_cached({"n": 6, "seed": 1})  # other cases
    assert not baseline_cached({"n": 6, "shots": 1})  # same suite, another parameter
    assert not baseline_cached({"n": 7})
