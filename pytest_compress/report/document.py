"""The machine-readable report: one JSON document per gate run.

Its shape is fixed by ``report/schema.json`` (JSON Schema, draft 2020-12),
versioned by ``schema_version``: a field may be added within a version; a field
removed, renamed or retyped bumps it. Markdown and HTML are rendered from this
document (not from the live objects), so the three files always agree and a
stored ``report.json`` can be re-rendered later.

Non-finite numbers (a metric undefined on every case) are written as ``null``:
JSON has no NaN.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
from importlib import resources
from typing import Any

from .. import __version__
from .terminal import error_lines, export_dict, gate_line, notes, statistics_lines

SCHEMA_VERSION = 2
SCHEMA_FILE = "schema.json"


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def versions() -> dict:
    """The versions a report (and a shard's configuration) records."""
    import torch
    import transformers

    return {"pytest_compress": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__}


def build_document(results, *, config: dict, compression=(), timings: dict | None = None,
                   cache_events=(), created: str | None = None, errors=()) -> dict:
    """The report document of a session's ``results`` (PairedResult) and ``compression``
    reports (CompressionReport); ``config`` holds the effective settings shown with it;
    ``errors``: ``(nodeid, message)`` of gates whose evaluation failed (the run then fails)."""
    decision = str(config.get("decision", "point"))
    gated = [m for r in results for m in r.metrics.values() if m.verdict.status != "ungated"]
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": "pytest-compress",
        "created": created or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "config": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in config.items()},
        "passed": all(m.passed for m in gated) and not errors,
        "gate": gate_line(results, decision, len(errors)),
        "errors": [{"test": nodeid, "message": message} for nodeid, message in errors],
        "counts": {
            "suite_evaluations": len(results),
            "baseline_cached": sum(r.baseline_cached for r in results),
            "compressed_cached": sum(r.compressed_cached for r in results),
            "gated_metrics": len(gated),
            "failed_metrics": sum(not m.passed for m in gated),
            "inconclusive_metrics": sum(m.verdict.status == "inconclusive" for m in gated),
        },
        "compression": [
            {"spec": c.spec, "seconds": c.seconds, "bits_per_weight": c.bits_per_weight, "sparsity": c.sparsity,
             "packed_bytes": c.packed_bytes, "cached": c.cached, "layers": len(c.layers),
             "mean_layer_error": c.mean_layer_error, "calibration": c.calibration, "notes": list(c.notes),
             "runtime_bits": dict(c.runtime_bits), "export": export_dict(c.export)}
            for c in compression
        ],
        "results": [r.to_dict() for r in results],
        "notes": statistics_lines(results) + notes(results) + error_lines(errors, collected_here=False)
        + list(cache_events),  # a report stands alone: its errors say what failed
        "timings": {k: round(v, 3) for k, v in (timings or {}).items()},
    }
    return _finite(json.loads(json.dumps(document, default=str)))


def schema() -> dict:
    """The JSON Schema of the report document (shipped in the package)."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
