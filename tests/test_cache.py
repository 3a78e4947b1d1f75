import json
import multiprocessing
import os

import torch

from pytest_compress.cache import Cache, make_key


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
    assert counter.read_text() == "x"
    assert Cache(tmp_path / "c").get_json("outputs", key) is not None
