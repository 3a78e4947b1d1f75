"""One gate over many CI machines: shards that measure, and a merge that judges.

No pytest here. ``--compress-shard=I/N`` keeps the I-th of N slices of the session's
gate units, measures them and writes ``shard-I-of-N.json`` into the report directory;
it judges nothing. ``--compress-merge DIR...`` reads the N files, checks that they
come from one configuration, decides the whole family exactly as one unsharded
session would (each gate's cases were drawn against the whole family's size, and
Holm runs over every check of a spec) and writes one set of reports.

Units are cut into contiguous slices of an order that starts with the spec as given
on the command line, so a shard mostly holds one spec's gates and compresses few
models; a unit is a gate (spec x suite x parameters x limits x decision: tests
sharing one are kept together), or a test that uses a compressed model without a gate.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .distributed import WorkerOutput
from .errors import CompressUsageError

SHARD_FORMAT = "pytest-compress-shard"
SHARD_VERSION = 1
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_FILE = re.compile(r"^shard-(\d+)-of-(\d+)\.json$")
#: configuration entries that may differ between shards without changing a number
_MAY_DIFFER = ("cache_dir",)


@dataclass(frozen=True, order=True)
class Shard:
    """The ``index``-th (1-based) of ``count`` shards."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def file_name(self) -> str:
        return f"shard-{self.index}-of-{self.count}.json"


def parse_shard(text: str) -> Shard:
    """``"2/3"`` -> Shard(2, 3); anything else is a usage error saying what is valid."""
    match = _SHARD.match(str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise CompressUsageError(f"compress_shard must be I/N with 1 <= I <= N (e.g. 2/3), got {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_slices(units, count: int) -> list[list]:
    """``units`` (in their canonical order) cut into ``count`` contiguous slices whose sizes
    differ by at most one; each unit is in exactly one slice. With fewer units than shards
    the last shards are the empty ones."""
    units = list(dict.fromkeys(units))
    bounds = [-(-len(units) * i // count) for i in range(count + 1)]  # ceil: larger slices first
    return [units[bounds[i]:bounds[i + 1]] for i in range(count)]


def file_digest(path) -> str | None:
    """sha256 of a file's bytes (a calibration file shards must share), None without one."""
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class ShardFile:
    """What one shard wrote: who it is, the configuration it ran, every unit of the whole
    session, and its measured output (results are re-decided by the merge)."""

    shard: Shard
    configuration: dict
    report_config: dict
    units: tuple[str, ...]
    output: WorkerOutput
    #: the baseline's weights fingerprint, device and dtype; None when the shard loaded no model
    model: dict | None
    exitstatus: int
    path: str = ""

    def to_json(self) -> str:
        return json.dumps({
            "format": SHARD_FORMAT, "version": SHARD_VERSION, "shard": [self.shard.index, self.shard.count],
            "configuration": self.configuration, "report_config": self.report_config, "units": list(self.units),
            "model": self.model, "exitstatus": self.exitstatus, "output": self.output.to_wire(),
        }, default=str)  # key order kept: a result's metrics keep the suite's order

    def write(self, directory) -> Path:
        """Write atomically into ``directory``: a killed shard leaves no half file for the merge."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.shard.file_name
        tmp = path.with_name(f".tmp-{path.name}")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path) -> "ShardFile":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CompressUsageError(f"{path}: not a readable shard file ({exc}); rerun that shard") from None
        if not isinstance(data, dict) or data.get("format") != SHARD_FORMAT:
            raise CompressUsageError(f"{path}: not a pytest-compress shard file (no format {SHARD_FORMAT!r})")
        if data.get("version") != SHARD_VERSION:
            raise CompressUsageError(f"{path}: shard file version {data.get('version')!r}, this pytest-compress "
                                     f"reads version {SHARD_VERSION}; run shards and merge with one version")
        try:
            return cls(Shard(*data["shard"]), data["configuration"], data["report_config"], tuple(data["units"]),
                       WorkerOutput.from_wire(data["output"]), data["model"], int(data["exitstatus"]), str(path))
        except (KeyError, TypeError, ValueError) as exc:
            raise CompressUsageError(f"{path}: malformed shard file ({exc!r}); rerun that shard") from None


def find_shard_files(paths) -> list[Path]:
    """Shard files named by ``paths``: a file itself, or every ``shard-I-of-N.json`` in a directory."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            mine = sorted(f for f in p.iterdir() if _FILE.match(f.name))
            if not mine:
                raise CompressUsageError(f"{p}: no shard-I-of-N.json in this directory; each shard writes one "
                                         "with --compress-shard=I/N --compress-report=DIR")
            found += mine
        elif p.is_file():
            found.append(p)
        else:
            raise CompressUsageError(f"{p}: no such shard file or directory")
    return found


def _first_difference(a: dict, b: dict) -> str | None:
    for key in sorted(set(a) | set(b)):
        if key in _MAY_DIFFER:
            continue
        if a.get(key) != b.get(key):
            return f"{key}: {a.get(key)!r} vs {b.get(key)!r}"
    return None


def check_shards(shards: list[ShardFile]) -> None:
    """Refuse shards that are not the N parts of one session's configuration, naming the difference."""
    if not shards:
        raise CompressUsageError("no shard files to merge")
    first = shards[0]
    counts = {s.shard.count for s in shards}
    if len(counts) > 1:
        raise CompressUsageError(f"shards of different splits: {', '.join(f'{s.shard} ({s.path})' for s in shards)}")
    seen: dict[int, str] = {}
    for s in shards:
        if s.shard.index in seen:
            raise CompressUsageError(f"shard {s.shard} given twice: {seen[s.shard.index]} and {s.path}")
        seen[s.shard.index] = s.path
    missing = [str(Shard(i, first.shard.count)) for i in range(1, first.shard.count + 1) if i not in seen]
    if missing:
        raise CompressUsageError(f"shard {', '.join(missing)} missing: a merge needs all {first.shard.count} "
                                 "(each writes shard-I-of-N.json; download every shard's artifact)")
    for s in shards[1:]:
        where = f"shard {s.shard} ({s.path}) and shard {first.shard} ({first.path})"
        diff = _first_difference(first.configuration, s.configuration)
        if diff:
            raise CompressUsageError(f"{where} ran different configurations, so they are not one gate: {diff}")
        if s.units != first.units:
            extra = sorted(set(s.units) ^ set(first.units))
            raise CompressUsageError(f"{where} collected different gates (e.g. {extra[:1] or 'their order'}): "
                                     "run every shard on the same commit with the same test selection")
    loaded = [s for s in shards if s.model]
    for s in loaded[1:]:
        diff = _first_difference(loaded[0].model, s.model)
        if diff:
            raise CompressUsageError(f"shard {s.shard} ({s.path}) and shard {loaded[0].shard} ({loaded[0].path}) "
                                     f"evaluated different baselines: {diff}")


def merge_shards(shards: list[ShardFile]) -> WorkerOutput:
    """Every shard's results decided as one family, in the unsharded session's order.

    Each gate is judged once (tests sharing a gate share its result), with the decision mode
    and on-gain setting of the configuration the shards ran."""
    from .distributed import merge_outputs
    from .gate import decide

    check_shards(shards)
    shards = sorted(shards, key=lambda s: s.shard)
    config = shards[0].configuration
    pairs = [(r, t) for s in shards for r, t in zip(s.output.results, s.output.tests)]
    unique: dict[str, object] = {}
    for result, (_, key) in pairs:
        unique.setdefault(key, result)
    decided = dict(zip(unique, decide(list(unique.values()), fail_on_gain=config.get("on_gain") == "fail")))
    judged = WorkerOutput(
        results=tuple(decided[key] for _, (_, key) in pairs), tests=tuple(t for _, t in pairs),
        reports=tuple(r for s in shards for r in s.output.reports),
        errors=tuple(e for s in shards for e in s.output.errors),
    )
    rest = [WorkerOutput(timings=s.output.timings, cache_events=s.output.cache_events) for s in shards]
    return merge_outputs([judged, *rest], config.get("specs", ()))
