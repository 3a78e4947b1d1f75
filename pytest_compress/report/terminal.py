"""The end-of-session table: one row per spec x suite x metric.

Built as text here (no pytest), printed once by the plugin under its heading.
The closing line has the same shape whether the gate passed or failed::

    Compression gate passed: 6/6 gated metrics within limits (decision=point)
    Compression gate FAILED: 2/6 gated metrics beyond limits (decision=point)
"""

from __future__ import annotations

COLUMNS = ("spec", "suite.metric", "n", "baseline", "compressed", "drop", "95% CI", "limit", "verdict")


def _number(value, fmt: str) -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def verdict_text(metric: dict) -> str:
    """``PASS``, ``FAIL (fragile: raise n to about 120)``, ``PASS (suspicious gain)`` ..."""
    text = metric["verdict"].upper()
    if metric.get("fragile"):
        text += " (fragile" + (f": raise n to about {metric['settle_n']}" if metric.get("settle_n") else "") + ")"
    return text + (" (suspicious gain)" if metric.get("suspicious_gain") else "")


def row(result: dict, metric: dict) -> tuple[str, ...]:
    """One table row from a result's and a metric's ``to_dict()`` (terminal, Markdown and HTML share it)."""
    low, high = metric["interval"]
    limit = ", ".join(f"{k}={v:g}" for k, v in metric["limit"].items())
    return (
        result["spec"],
        metric["metric"],
        str(result["n"]),
        _number(metric["baseline"], ".3f"),
        _number(metric["compressed"], ".3f"),
        _number(metric["drop"], "+.3f"),
        f"[{_number(low, '+.3f')}, {_number(high, '+.3f')}]",
        limit or "-",
        verdict_text(metric),
    )


def rows(result_dicts) -> list[tuple[str, ...]]:
    return [row(r, m) for r in result_dicts for m in r["metrics"]]


def table(results) -> list[str]:
    rows_ = [COLUMNS] + rows(r.to_dict() for r in results)
    widths = [max(len(cells[i]) for cells in rows_) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip() for cells in rows_]
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


def _cached_line(what: str, cached: int, total: int, unit: str) -> str:
    state = "cached" if cached == total else "computed" if cached == 0 else "partly cached"
    return f"{what}: {state} ({cached}/{total} {unit} from the cache)"


def cache_lines(results, reports=()) -> list[str]:
    """``baseline: cached (3/3 suite evaluations from the cache)`` and the same for compression."""
    lines = []
    if results:
        lines.append(_cached_line("baseline", sum(r.baseline_cached for r in results), len(results),
                                  "suite evaluations"))
    if reports:
        lines.append(_cached_line("compression", sum(r.cached for r in reports), len(reports), "specs"))
    return lines


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
    lines.extend(cache_lines(results, reports))
    lines.extend(cache_events)
    lines.append(gate_line(results, decision))
    return lines
