"""The report as one self-contained HTML page with plots.

Plots (matplotlib, drawn on an Agg canvas without pyplot, so the user's own
backend is left alone), embedded as base64 PNG data URIs so the page is one
file a CI artifact viewer can open:

* score per suite per method (the primary metric; baseline and each spec);
* drop per metric with its 95% interval and the ``max_drop`` limit;
* rank correlation by k (Kendall tau at the baseline's top-k) when the
  ``agreement.rank_correlation`` suite ran.

Without matplotlib the page is written without plots and says how to get them.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re

from .terminal import COLUMNS, export_text, rows, runtime_cell

RANK_SUITE = "agreement.rank_correlation"
_TAU_AT_K = re.compile(r"^tau(?:_k(\d+))?$")
VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "inconclusive": "#f9a825", "ungated": "#757575"}


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _group_label(result: dict, groups: dict) -> str:
    """``suite`` or, when one suite ran with several parameter sets, ``suite (n=24, ...)``."""
    return result["suite"] if len(groups[result["suite"]]) == 1 else (
        f"{result['suite']} ({', '.join(f'{k}={v}' for k, v in sorted(result['params'].items()))})")


def plot_scores(document: dict):
    """Primary score of each suite: the baseline and each spec's compressed model, one panel per suite."""
    from matplotlib.figure import Figure

    groups: dict[str, dict] = {}
    for r in document["results"]:
        groups.setdefault(r["suite"], {}).setdefault(json.dumps(r["params"], sort_keys=True), []).append(r)
    panels = [(_group_label(rs[0], groups), rs) for by_params in groups.values() for rs in by_params.values()]
    if not panels:
        return None
    cols = min(3, len(panels))
    rows_ = (len(panels) + cols - 1) // cols
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows_))
    for i, (label, results) in enumerate(panels):
        ax = fig.add_subplot(rows_, cols, i + 1)
        primary = {r["spec"]: next(m for m in r["metrics"] if m["metric"].endswith("." + r["primary"]))
                   for r in results}
        names = ["baseline", *primary]
        first = next(iter(primary.values()))
        values = [first["baseline"], *(m["compressed"] for m in primary.values())]
        colours = ["#546e7a", *(VERDICT_COLOURS[m["verdict"]] for m in primary.values())]
        ax.bar(range(len(names)), [v if v is not None else 0.0 for v in values], color=colours)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{label}\n{results[0]['primary']}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Score per suite per method (bar colour: verdict)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def plot_drops(document: dict):
    """Each metric's drop (positive = worse) with its 95% interval; the max_drop limit as a red tick."""
    from matplotlib.figure import Figure

    items = [(f"{r['spec']}  {m['metric']}", m) for r in document["results"] for m in r["metrics"]
             if m["drop"] is not None]
    if not items:
        return None
    fig = Figure(figsize=(8, 0.35 * len(items) + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    for y, (_, m) in enumerate(items):
        low, high = (v if v is not None else m["drop"] for v in m["interval"])
        colour = VERDICT_COLOURS[m["verdict"]]
        ax.errorbar(m["drop"], y, xerr=[[m["drop"] - low], [high - m["drop"]]], fmt="o", color=colour, capsize=3)
        if "max_drop" in m["limit"]:
            ax.plot(m["limit"]["max_drop"], y, marker="|", markersize=14, color="#d50000")
    ax.axvline(0.0, color="#9e9e9e", linewidth=1)
    ax.set_yticks(range(len(items)), [label for label, _ in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("drop (baseline - compressed, in the worse direction) with 95% interval; red tick: max_drop")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def plot_rank_correlation(document: dict):
    """Kendall tau between the models' next-token rankings at the baseline's top-k, by k, one line per spec."""
    from matplotlib.figure import Figure

    lines = {}
    for r in document["results"]:
        if r["suite"] != RANK_SUITE:
            continue
        points = {}
        for m in r["metrics"]:
            match = _TAU_AT_K.match(m["metric"].rsplit(".", 1)[1])
            if match and m["compressed"] is not None:
                k = int(match.group(1)) if match.group(1) else int(r["params"].get("k", 10))
                points[k] = m["compressed"]
        if points:
            lines.setdefault(r["spec"], points)
    if not lines:
        return None
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for spec, points in lines.items():
        ks = sorted(points)
        ax.plot(ks, [points[k] for k in ks], marker="o", label=spec)
    ax.set_xscale("log")
    ax.set_xticks(sorted({k for p in lines.values() for k in p}), [str(k) for k in sorted({k for p in lines.values() for k in p})])
    ax.set_xlabel("k (baseline's top-k tokens)")
    ax.set_ylabel("Kendall tau-b (1 = same ranking)")
    ax.set_ylim(min(-0.05, min(v for p in lines.values() for v in p.values()) - 0.05), 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Rank correlation by k", fontsize=11)
    fig.tight_layout()
    return _png(fig)


PLOTS = (
    ("scores", "Score per suite per method", plot_scores),
    ("drops", "Drop with its 95% interval", plot_drops),
    ("rank-correlation", "Rank correlation by k", plot_rank_correlation),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #212121; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td { background: #ffebee; } tr.inconclusive td { background: #fff8e1; } tr.pass td.verdict { color: #2e7d32; } tr.fail td.verdict { color: #c62828; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #eee; }
.passed { color: #2e7d32; } .failed { color: #c62828; }
"""


def render_html(document: dict) -> str:
    """The HTML page of a report document: verdict, configuration, table, notes and plots."""
    esc = html.escape
    status = "passed" if document["passed"] else "failed"
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>pytest-compress: {esc(document['gate'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1 class='{status}'>{esc(document['gate'])}</h1>",
        "<p>" + ", ".join(f"{esc(str(k))}: <code>{esc(json.dumps(v) if not isinstance(v, str) else v)}</code>"
                          for k, v in document["config"].items()) + "</p>",
        f"<p>Created {esc(document['created'])} with "
        + ", ".join(f"{esc(k)} {esc(v)}" for k, v in document["versions"].items()) + "</p>",
    ]
    if document["compression"]:
        parts.append("<h2>Compression</h2><table><tr><th>spec</th><th>bits/weight</th><th>sparsity</th>"
                     "<th>packed MiB</th><th>compressed</th></tr>")
        for c in document["compression"]:
            origin = "cached" if c["cached"] else f"{c['seconds']:.1f}s"
            parts.append(f"<tr><td>{esc(c['spec'])}</td><td class='num'>{c['bits_per_weight']:.2f}"
                         f"{esc(runtime_cell(c))}</td>"
                         f"<td class='num'>{c['sparsity']:.1%}</td><td class='num'>{c['packed_bytes'] / 2**20:.1f}</td>"
                         f"<td>{origin}</td></tr>")
        parts.append("</table>")
        exported = [export_text(c["spec"], c["export"]) for c in document["compression"] if c.get("export")]
        if exported:
            parts.append("<ul>" + "".join(f"<li>{esc(e)}</li>" for e in exported) + "</ul>")
    parts.append("<h2>Results</h2><table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS) + "</tr>")
    numeric = {"n", "baseline", "compressed", "drop"}
    verdicts = [m["verdict"] for r in document["results"] for m in r["metrics"]]
    for verdict, cells in zip(verdicts, rows(document["results"])):
        tds = "".join(
            f"<td class='{'num' if col in numeric else 'verdict' if col == 'verdict' else ''}'>{esc(cell)}</td>"
            for col, cell in zip(COLUMNS, cells))
        parts.append(f"<tr class='{verdict}'>{tds}</tr>")
    parts.append("</table>")
    if document["notes"]:
        parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in document["notes"]) + "</ul>")
    parts.append("<h2>Plots</h2>")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parts.append("<p>Plots need matplotlib: <code>pip install matplotlib</code>, then run the gate again.</p>")
    else:
        for ident, title, plot in PLOTS:
            png = plot(document)
            if png is not None:
                parts.append(f"<figure id='{ident}'><img alt='{esc(title)}' src='data:image/png;base64,{png}'>"
                             f"<figcaption>{esc(title)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
