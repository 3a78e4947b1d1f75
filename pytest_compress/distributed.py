"""pytest-xdist support: one device per worker, results sent to the controller.

No pytest and no torch at import. Each worker (``gw0``, ``gw1``, ...) takes its
own GPU round-robin over the visible devices, so N workers never pile onto
``cuda:0``; with no CUDA they run on the CPU. Workers send their paired results
to the controller as plain JSON-able dicts (xdist's ``workeroutput`` carries
only builtin types), and the controller rebuilds the dataclasses to print one
summary and write one report.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any

_WORKER_ID = re.compile(r"^gw(\d+)$")


def worker_index(worker_id: str | None) -> int | None:
    """``gw3`` -> 3; None (not an xdist worker) or an unknown id -> None."""
    match = _WORKER_ID.match(worker_id or "")
    return int(match.group(1)) if match else None


def worker_device(requested: str, worker_id: str | None, cuda_count: int | None = None) -> str:
    """The device an xdist worker evaluates on.

    ``auto`` and a bare ``cuda`` are spread round-robin: worker ``gwN`` takes
    ``cuda:{N % cuda_count}``; ``auto`` with no CUDA is ``cpu``. A pinned device
    (``cpu``, ``cuda:1``) is the user's choice and is kept, as is everything outside xdist.
    """
    index = worker_index(worker_id)
    requested = (requested or "auto").lower()
    if index is None or requested not in ("auto", "cuda"):
        return requested
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if cuda_count == 0:
        return "cpu" if requested == "auto" else requested  # a bare cuda without CUDA fails with its own message
    return f"cuda:{index % cuda_count}"


# -- results over the wire ----------------------------------------------------------------
def to_wire(value: Any) -> Any:
    """A dataclass tree as builtin dicts, lists and scalars (what execnet can send)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.init and not f.metadata.get("local")}
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def from_wire(kind: Any, data: Any) -> Any:
    """Rebuild a value of type ``kind`` (a dataclass or a typing form) from :func:`to_wire` output."""
    if data is None:
        return None
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_wire(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind) if f.init and f.name in data})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return from_wire(next(a for a in args if a is not type(None)), data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_wire(args[0], v) for v in data)
        return tuple(from_wire(a, v) for a, v in zip(args, data)) if args else tuple(data)
    if origin is dict:
        return {k: from_wire(args[1], v) for k, v in data.items()} if args else dict(data)
    if origin is list:
        return [from_wire(args[0], v) for v in data] if args else list(data)
    if kind is float:
        return float(data)
    return data


@dataclasses.dataclass(frozen=True)
class WorkerOutput:
    """What one worker (or shard) hands on: its results and what the summary counts.

    ``tests`` runs parallel to ``results``: the ``(nodeid, gate key)`` each came from, so a
    merge can judge each gate once however many tests share it. ``errors``: ``(nodeid, message)``
    of the gates whose evaluation failed.
    """

    results: tuple = ()
    reports: tuple = ()
    timings: dict = dataclasses.field(default_factory=dict)
    cache_events: tuple[str, ...] = ()
    tests: tuple[tuple[str, str], ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    def to_wire(self) -> dict:
        return {"results": [to_wire(r) for r in self.results], "reports": [to_wire(r) for r in self.reports],
                "timings": dict(self.timings), "cache_events": list(self.cache_events),
                "tests": [list(t) for t in self.tests], "errors": [list(e) for e in self.errors]}

    @classmethod
    def from_wire(cls, data: dict) -> "WorkerOutput":
        from .compress.api import CompressionReport
        from .results import PairedResult

        return cls(
            results=tuple(from_wire(PairedResult, r) for r in data.get("results", ())),
            reports=tuple(from_wire(CompressionReport, r) for r in data.get("reports", ())),
            timings=dict(data.get("timings", {})),
            cache_events=tuple(data.get("cache_events", ())),
            tests=tuple((str(a), str(b)) for a, b in data.get("tests", ())),
            errors=tuple((str(a), str(b)) for a, b in data.get("errors", ())),
        )


def merge_outputs(outputs, spec_order=()) -> WorkerOutput:
    """One session's output from its workers' (or the single process's) outputs.

    Results are put in a fixed order (spec as given on the command line, then suite,
    parameters and decision) so the summary is the same under ``-n 2`` as under ``-n 0``.
    A spec compressed by one worker and read from the cache by another counts as compressed.
    """
    import json

    order = {spec: i for i, spec in enumerate(spec_order)}
    pairs = [(r, t) for out in outputs
             for r, t in zip(out.results, out.tests or [("", "")] * len(out.results))]
    pairs.sort(key=lambda p: (order.get(p[0].spec, len(order)), p[0].spec, p[0].suite,
                              json.dumps(p[0].params, sort_keys=True, default=str), p[0].decision))
    reports: dict = {}
    for report in (r for out in outputs for r in out.reports):
        if report.spec not in reports or (reports[report.spec].cached and not report.cached):
            reports[report.spec] = report
    timings: dict = {}
    for out in outputs:
        for phase, seconds in out.timings.items():
            timings[phase] = timings.get(phase, 0.0) + seconds
    events = tuple(dict.fromkeys(e for out in outputs for e in out.cache_events))
    return WorkerOutput(tuple(r for r, _ in pairs),
                        tuple(sorted(reports.values(), key=lambda r: order.get(r.spec, len(order)))),
                        timings, events, tuple(t for _, t in pairs),
                        tuple(sorted({e for out in outputs for e in out.errors})))
