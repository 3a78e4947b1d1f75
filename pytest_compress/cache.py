"""Content-addressed cache: atomic writes, cross-process locks, integrity checks.

Entries live under ``root/<kind>/<key[:2]>/<key>.{json,safetensors}``. Keys are
digests of everything that changes the answer (see :func:`make_key`); the
weights fingerprint is always among them, so one entry can never serve two
models. Every entry carries a digest of its content: a truncated, corrupt or
half-written entry is reported (:attr:`Cache.events`), removed and recomputed,
never trusted. Writes go to a temporary file in the same directory and are
renamed into place, under a file lock, so a run killed mid-write leaves either
the old entry or none, and two xdist workers computing one key produce one entry.
Only JSON and safetensors are read back; nothing is unpickled.

An entry may record the environment that computed it (library versions, device,
dtype: :func:`~pytest_compress.models.fingerprint.environment_fingerprint`). The
environment is part of the key, so another environment never reads it; a
*lineage* record (the key without the environment) remembers which environment
last computed that answer, so a run in a new environment reports what changed
before it computes a fresh baseline.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock

FORMAT = 1
LINEAGE = "lineage"  # kind of the records naming the environment that last computed a result


def make_key(*parts: Any) -> str:
    """Digest of JSON-serialisable ``parts`` (order matters)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def describe_change(before: dict | None, after: dict | None) -> str:
    """``torch 2.12.0 -> 2.13.0, dtype float32 -> bfloat16`` for two environment records."""
    before, after = before or {}, after or {}
    changed = [f"{k} {before.get(k, '?')} -> {after.get(k, '?')}" for k in sorted({*before, *after})
               if before.get(k) != after.get(k)]
    return ", ".join(changed) or "no recorded difference"


def _digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _tensor_digest(tensors: dict) -> str:
    import torch  # only tensor entries need it; the plugin imports this module without torch

    h = hashlib.blake2b(digest_size=20)
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def check_writable(root: Path) -> None:
    """Refuse, before anything is computed, a cache directory this process cannot write."""
    from .errors import CompressUsageError

    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CompressUsageError(
            f"the cache directory {root} is not writable ({exc.strerror or exc}): make it writable, point "
            f"--compress-cache-dir at a writable directory, or run without a cache (--compress-no-cache)"
        ) from None


class Cache:
    """The store. ``root=None`` or ``enabled=False`` turns caching off (everything is a miss);
    ``refresh=True`` recomputes every entry and overwrites it."""

    def __init__(self, root: Path | None, *, enabled: bool = True, refresh: bool = False):
        self.root = Path(root) if root is not None else None
        self.enabled = enabled and root is not None
        self.refresh = refresh
        self.events: list[str] = []
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()

    def _path(self, kind: str, key: str, ext: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.{ext}"

    @contextmanager
    def lock(self, kind: str, key: str):
        """Hold the cross-process lock of one entry (no-op when caching is off)."""
        if not self.enabled:
            yield
            return
        path = self._path(kind, key, "lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path))
            lock.acquire()
        except OSError as exc:
            self.give_up(exc)
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def give_up(self, exc: OSError) -> None:
        """Stop caching for the rest of the run after a write failed (disk full, directory made
        read-only mid-run): the results are still computed and gated, only not kept."""
        if self.enabled:
            self.enabled = False
            self.events.append(f"cache disabled: could not write under {self.root} ({exc.strerror or exc}); "
                               f"this run keeps nothing. Free space or fix its permissions, or point "
                               f"--compress-cache-dir elsewhere")

    def _write_atomic(self, path: Path, write: Callable[[str], None]) -> None:
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
            os.close(fd)
            write(tmp)
            os.replace(tmp, path)
        except BaseException as exc:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            if not isinstance(exc, OSError):
                raise
            self.give_up(exc)

    def _corrupt(self, path: Path, why: str) -> None:
        self.events.append(f"corrupt cache entry {path} ({why}): removed and recomputed")
        try:
            path.unlink()
        except OSError:
            pass

    # -- JSON entries ---------------------------------------------------------
    def _read_entry(self, kind: str, key: str) -> dict | None:
        """The verified entry (format, key and digest checked) or None; corrupt ones are reported."""
        path = self._path(kind, key, "json")
        if not path.exists():
            return None
        try:
            entry = json.loads(path.read_bytes())
            payload = json.dumps(entry["payload"], sort_keys=True, separators=(",", ":"))
            if entry.get("format") != FORMAT or entry.get("key") != key:
                raise ValueError("format or key mismatch")
            if entry.get("digest") != _digest_bytes(payload.encode()):
                raise ValueError("digest mismatch")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self._corrupt(path, str(exc) or type(exc).__name__)
            return None
        return entry

    def get_json(self, kind: str, key: str, environment: dict | None = None) -> Any | None:
        """The payload, or None on a miss; an entry recorded in another ``environment`` is a miss."""
        entry = self._read_entry(kind, key) if self.enabled and not self.refresh else None
        if entry is not None and environment is not None and entry.get("environment") != environment:
            self.events.append(f"cache entry {kind}/{key[:12]} was computed in another environment "
                               f"({describe_change(entry.get('environment'), environment)}): recomputed")
            entry = None
        if entry is None:
            self.misses[kind] += 1
            return None
        self.hits[kind] += 1
        return entry["payload"]

    def put_json(self, kind: str, key: str, payload: Any, environment: dict | None = None) -> None:
        if not self.enabled:
            return
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        entry = {"format": FORMAT, "key": key, "digest": _digest_bytes(text.encode()), "payload": payload}
        if environment is not None:
            entry["environment"] = environment
        data = json.dumps(entry, sort_keys=True).encode()
        self._write_atomic(self._path(kind, key, "json"), lambda tmp: Path(tmp).write_bytes(data))

    def json_or_compute(self, kind: str, key: str, compute: Callable[[], Any], *, environment: dict | None = None,
                        lineage: str | None = None, label: str = "") -> tuple[Any, bool]:
        """``(payload, was_cached)``; computes under the entry's lock on a miss.

        ``environment`` is recorded with the entry; ``lineage`` is the key of the same
        computation without the environment: when a previous environment computed it,
        the change is reported (an event naming ``label``) before the fresh computation.
        """
        with self.lock(kind, key):
            found = self.get_json(kind, key, environment)
            if found is not None:
                return found, True
            if lineage is not None and self.enabled:
                previous = self._read_entry(LINEAGE, lineage)
                before = previous["payload"].get("environment") if previous else None
                if before is not None and before != environment:
                    self.events.append(f"environment changed since {label or kind + '/' + key[:12]} was cached "
                                       f"({describe_change(before, environment)}): recomputed, not reused")
            payload = compute()
            self.put_json(kind, key, payload, environment)
            if lineage is not None:
                self.put_json(LINEAGE, lineage, {"environment": environment, "key": key})
            return payload, False

    # -- tensor entries (safetensors) ----------------------------------------
    def get_tensors(self, kind: str, key: str) -> tuple[dict, dict] | None:
        """``(tensors, metadata)`` or None."""
        if not self.enabled or self.refresh:
            self.misses[kind] += 1
            return None
        path = self._path(kind, key, "safetensors")
        if not path.exists():
            self.misses[kind] += 1
            return None
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
                tensors = {name: f.get_tensor(name) for name in f.keys()}
            if meta.get("key") != key or meta.get("digest") != _tensor_digest(tensors):
                raise ValueError("digest mismatch")
        except (SafetensorError, ValueError, OSError, RuntimeError) as exc:
            self._corrupt(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self.misses[kind] += 1
            return None
        self.hits[kind] += 1
        return tensors, meta

    def put_tensors(self, kind: str, key: str, tensors: dict, metadata: dict | None = None) -> None:
        if not self.enabled:
            return
        from safetensors.torch import save_file

        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        meta = {**(metadata or {}), "key": key, "digest": _tensor_digest(tensors)}
        from safetensors import SafetensorError

        def write(tmp: str) -> None:
            try:
                save_file(tensors, tmp, metadata=meta)
            except SafetensorError as exc:  # its writer reports a full disk as its own error type
                raise OSError(str(exc).splitlines()[0]) from exc

        self._write_atomic(self._path(kind, key, "safetensors"), write)
