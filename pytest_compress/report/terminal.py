"""The end-of-session table: one row per spec x suite x metric.

Built as text here (no pytest), printed once by the plugin under its heading.
The closing line has the same shape whether the gate passed or failed::

    Compression gate passed: 6/6 gated metrics within limits, 2 of them inconclusive (decision=lenient)
    Compression gate FAILED: 2/6 gated metrics beyond limits, 1 inconclusive (decision=lenient)
"""

from __future__ import annotations

COLUMNS = ("spec", "suite.metric", "n", "baseline", "compressed", "drop", "95% CI", "resolves", "limit", "verdict")


def runtime_text(runtime_bits: dict) -> str:
    """``activations 8.03, KV cache 8.25 bits`` for what a spec quantizes while the model runs."""
    names = {"activation": "activations", "kv": "KV cache"}
    return ", ".join(f"{names.get(k, k)} {v:.2f}" for k, v in runtime_bits.items()) + " bits"


def runtime_cell(compression: dict) -> str:
    """`` (activations 8.03 bits)`` beside a report's bits/weight; empty for weight-only specs."""
    bits = compression.get("runtime_bits")
    return f" ({runtime_text(bits)})" if bits else ""


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def export_text(spec: str, export: dict) -> str:
    """``rtn4g64 exported to DIR (pack-quantized, 80.2 MiB): model.safetensors 80.1 MiB, ...``."""
    files = sorted(export["files"], key=lambda f: -f["bytes"])
    return (f"{spec} exported to {export['directory']} ({export['format']}, {_size(export['bytes'])}): "
            + ", ".join(f"{f['name']} {_size(f['bytes'])}" for f in files))


def export_dict(record) -> dict | None:
    """An ExportRecord as the reports write it."""
    if record is None:
        return None
    return {"directory": record.directory, "format": record.format, "bytes": record.bytes,
            "files": [{"name": name, "bytes": size} for name, size in record.files]}


def _number(value, fmt: str) -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def verdict_text(metric: dict) -> str:
    """``PASS``, ``FAIL``, ``INCONCLUSIVE (pass; ~240 cases decide)``, ``PASS (at chance)`` ..."""
    status, passed = metric["verdict"], metric.get("passed", metric["verdict"] != "fail")
    text = status.upper() if status != "fail" or not passed else "FAIL"
    if status == "inconclusive":
        hint = f"; ~{metric['n_to_decide']} cases decide" if metric.get("n_to_decide") else ""
        text += f" ({'pass' if passed else 'fail'}{hint})"
    elif status == "pass" and not passed:
        text = "FAIL (gain)"
    flags = metric.get("flags") or ()
    if any("chance" in f for f in flags):
        text += " (at chance)"
    elif any("floor" in f or "ceiling" in f for f in flags):
        text += " (at floor/ceiling)"
    if any("one model only" in f for f in flags):
        text += " (cases left out)"
    return text + (" (suspicious gain)" if metric.get("suspicious_gain") else "")


def row(result: dict, metric: dict) -> tuple[str, ...]:
    """One table row from a result's and a metric's ``to_dict()`` (terminal, Markdown and HTML share it)."""
    low, high = metric["interval"]
    limit = ", ".join(f"{k}={v:g}" for k, v in metric["limit"].items())
    return (
        result["spec"],
        metric["metric"],
        str(metric.get("n", result["n"])),
        _number(metric["baseline"], ".3f"),
        _number(metric["compressed"], ".3f"),
        _number(metric["drop"], "+.3f"),
        f"[{_number(low, '+.3f')}, {_number(high, '+.3f')}]",
        "-" if metric.get("resolution") is None else f"+-{metric['resolution']:.3f}",
        limit or "-",
        verdict_text(metric),
    )


def rows(result_dicts) -> list[tuple[str, ...]]:
    return [row(r, m) for r in result_dicts for m in r["metrics"]]


def table(results) -> list[str]:
    if not results:
        return []
    rows_ = [COLUMNS] + rows(r.to_dict() for r in results)
    widths = [max(len(cells[i]) for cells in rows_) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip() for cells in rows_]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def gate_line(results, decision: str, errors: int = 0, failed_tests: int = 0) -> str:
    """The closing line; it never says "passed" for a session with errored gates, failed tests
    (``failed_tests``: tests that failed or errored for reasons of their own, the gate within
    limits) or nothing gated."""
    gated = [m for r in results for m in r.metrics.values() if m.verdict.status != "ungated"]
    failed = [m for m in gated if not m.passed]
    open_ = sum(m.verdict.status == "inconclusive" for m in gated)
    errored = f"{errors} gate{'s' if errors != 1 else ''} could not be evaluated" if errors else ""
    if failed:
        undecided = sum(m.verdict.status == "inconclusive" for m in failed)
        tail = f", {undecided} of them inconclusive" if undecided else ""
        tail += f"; {errored}" if errored else ""
        return (f"Compression gate FAILED: {len(failed)}/{len(gated)} gated metrics beyond limits{tail} "
                f"(decision={decision})")
    tail = f", {open_} of them inconclusive" if open_ else ""
    if errored and not gated:
        return f"Compression gate FAILED: {errored}, and no gated metric ran (decision={decision})"
    if errored:
        return (f"Compression gate FAILED: {errored}; {len(gated)}/{len(gated)} evaluated gated metrics within "
                f"limits{tail} (decision={decision})")
    if not gated:
        return f"Compression gate not evaluated: no gated metric ran (decision={decision})"
    if failed_tests:
        return (f"Compression gate within limits: {len(gated)}/{len(gated)} gated metrics{tail}, but the session "
                f"failed: {failed_tests} test{'s' if failed_tests != 1 else ''} failed or errored (decision={decision})")
    return f"Compression gate passed: {len(gated)}/{len(gated)} gated metrics within limits{tail} (decision={decision})"


def statistics_lines(results) -> list[str]:
    """How the verdicts were reached, per spec: the family, decided and inconclusive checks,
    cases drawn; then each inconclusive check with the n it used, its resolution and the n to decide."""
    from ..gate import ALPHA

    lines, specs = [], list(dict.fromkeys(r.spec for r in results))
    for spec in specs:
        mine = [r for r in results if r.spec == spec]
        checks = [c for r in mine for m in r.metrics.values() for c in m.checks if not c.exact]
        if not checks:
            continue
        count = {s: sum(c.status == s for c in checks) for s in ("pass", "fail", "inconclusive")}
        stops = {s: sum(r.stopped == s for r in mine) for s in ("settled", "failed", "cap")}
        lines.append(
            f"gate {spec}: {len(checks)} statistical checks, Holm across them (one-sided alpha {ALPHA:g} for "
            f"false passes, {ALPHA:g} for false failures): {count['pass']} decided pass, {count['fail']} decided "
            f"fail, {count['inconclusive']} inconclusive; {sum(r.n for r in mine)} of at most "
            f"{sum(r.planned_cases or r.n for r in mine)} cases drawn ({stops['settled']} gates settled early, "
            f"{stops['failed']} stopped at a failure, {stops['cap']} ran to their cap)")
    for r in results:
        for m in r.metrics.values():
            for c in m.checks:
                if c.status == "inconclusive":
                    hint = (f"; about {c.n_to_decide} cases would {c.decides} (raise the suite's n or "
                            "--compress-cases)" if c.n_to_decide else "")
                    lines.append(f"inconclusive: {r.spec} {m.full_name} {c.check.key}: {c.check.quantity} "
                                 f"{c.value:+.3f} on n={c.n} resolves +-{c.resolution:.3f}{hint}")
    return lines


def notes(results) -> list[str]:
    out = []
    for r in results:
        for m in r.metrics.values():
            out.extend(f"note: {r.spec} {m.full_name}: {flag}; read its verdict with that in mind"
                       for flag in m.verdict.flags)
            if m.verdict.suspicious_gain:
                out.append(f"suspicious gain: {r.spec} {m.full_name} improved by {-m.drop:.3f} "
                           f"(more than max_drop {m.limit.max_drop:g}); check the evaluation")
    return out


#: how the message of an error entry starts for a test whose gate failed its check at collection
COLLECTION_ERROR = "invalid at collection: "


def error_lines(errors, *, collected_here: bool = True) -> list[str]:
    """One line per ``(nodeid, message)`` of a gate whose evaluation failed. In the session
    that ran it, pytest printed the error above (at collection, or as the test's error), so it is
    pointed at, not repeated; the merge of shards (``collected_here=False``) shows its first
    line, as the shards' own output is elsewhere."""
    def line(message: str) -> str:
        if collected_here:
            return ("its marker or dataset is invalid (the collection error above)"
                    if message.startswith(COLLECTION_ERROR) else "its evaluation failed (the error above)")
        return message.splitlines()[0] if message else "failed"

    return [f"error: {nodeid}: {line(message)}" for nodeid, message in errors]


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


def render(results, *, decision: str, timings: dict, cache_events=(), reports=(), errors=(),
           collected_here: bool = True, failed_tests: int = 0) -> list[str]:
    """All summary lines: compression reports, the table, notes, errors, timings, cache, the gate line.

    ``errors``: ``(nodeid, message)`` of the gates whose evaluation failed; ``collected_here``:
    see :func:`error_lines`; ``failed_tests``: see :func:`gate_line`."""
    lines = []
    for rep in reports:
        origin = "cached" if rep.cached else f"{rep.seconds:.1f}s"
        calibrated = f", calibration: {rep.calibration}" if rep.calibration else ""
        runtime = f", runs with {runtime_text(rep.runtime_bits)}" if rep.runtime_bits else ""
        lines.append(f"{rep.spec}: {rep.bits_per_weight:.2f} bits/weight{runtime}, sparsity {rep.sparsity:.1%}, "
                     f"{rep.packed_bytes / 2**20:.1f} MiB packed, compressed: {origin}{calibrated}")
        lines.extend(f"note: {note}" for note in rep.notes)
        if rep.export is not None:
            lines.append(export_text(rep.spec, export_dict(rep.export)))
    lines.extend(table(results))
    lines.extend(statistics_lines(results))
    lines.extend(notes(results))
    lines.extend(error_lines(errors, collected_here=collected_here))
    if timings:
        lines.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    lines.extend(cache_lines(results, reports))
    lines.extend(cache_events)
    lines.append(gate_line(results, decision, len(errors), failed_tests))
    return lines
