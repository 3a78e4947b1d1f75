"""The end-of-session table: one row per spec x suite x metric.

Built as text here (no pytest), printed once by the plugin under its heading.
The closing line has the same shape whether the gate passed or failed::

    Compression gate passed: 6/6 gated metrics within limits (decision=point)
    Compression gate FAILED: 2/6 gated metrics beyond limits (decision=point)
"""

from __future__ import annotations

COLUMNS = ("spec", "suite.metric", "n", "baseline", "compressed", "drop", "95% CI", "limit", "verdict")


def _row(result, metric) -> tuple[str, ...]:
    low, high = metric.interval
    return (
        result.spec,
        metric.full_name,
        str(len(metric.baseline.per_case)),
        f"{metric.baseline.score:.3f}",
        f"{metric.compressed.score:.3f}",
        f"{metric.drop:+.3f}",
        f"[{low:+.3f}, {high:+.3f}]",
        str(metric.limit) if not metric.limit.is_empty else "-",
        str(metric.verdict) + (" (suspicious gain)" if metric.verdict.suspicious_gain else ""),
    )


def table(results) -> list[str]:
    rows = [COLUMNS] + [_row(r, m) for r in results for m in r.metrics.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def gate_line(results, decision: str) -> str:
    gated = [m for r in results for m in r.metrics.values() if m.verdict.status != "ungated"]
    failed = [m for m in gated if not m.passed]
    if failed:
        return f"Compression gate FAILED: {len(failed)}/{len(gated)} gated metrics beyond limits (decision={decision})"
    return f"Compression gate passed: {len(gated)}/{len(gated)} gated metrics within limits (decision={decision})"


def notes(results) -> list[str]:
    out = []
    for r in results:
        for m in r.metrics.values():
            if m.verdict.fragile:
                hint = f"; raise n to about {m.verdict.settle_n}" if m.verdict.settle_n else ""
                out.append(f"fragile: {r.spec} {m.full_name}: the interval straddles the limit, "
                           f"the verdict could go either way (n={r.n}{hint})")
            if m.verdict.suspicious_gain:
                out.append(f"suspicious gain: {r.spec} {m.full_name} improved by {-m.drop:.3f} "
                           f"(more than max_drop {m.limit.max_drop:g}); check the evaluation")
    return out


def render(results, *, decision: str, timings: dict, cache_events=(), cache_hits=None, reports=()) -> list[str]:
    """All summary lines: compression reports, the table, notes, timings, cache, the gate line."""
    lines = []
    for rep in reports:
        origin = "cached" if rep.cached else f"{rep.seconds:.1f}s"
        lines.append(f"{rep.spec}: {rep.bits_per_weight:.2f} bits/weight, sparsity {rep.sparsity:.1%}, "
                     f"{rep.packed_bytes / 2**20:.1f} MiB packed, compressed: {origin}")
    lines.extend(table(results))
    lines.extend(notes(results))
    if timings:
        lines.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    base = ["cached" if r.baseline_cached else "computed" for r in results]
    if base:
        lines.append(f"baseline: {base.count('cached')}/{len(base)} suite evaluations cached")
    lines.extend(cache_events)
    lines.append(gate_line(results, decision))
    return lines
