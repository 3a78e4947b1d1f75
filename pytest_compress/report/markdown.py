"""The report as Markdown (``report.md``, and the GitHub Actions job summary)."""

from __future__ import annotations

from .terminal import COLUMNS, export_text, rows, runtime_cell


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_markdown(document: dict) -> str:
    """GitHub-flavoured Markdown of a report document (see :mod:`.document`)."""
    mark = "✅" if document["passed"] else "❌"
    config = document["config"]
    lines = [
        f"## {mark} pytest-compress: {document['gate']}",
        "",
        f"Model `{config.get('model')}`, specs {', '.join(f'`{s}`' for s in config.get('specs', ()))}, "
        f"decision `{config.get('decision')}`, seed {config.get('seed')}; "
        f"baseline from the cache in {document['counts']['baseline_cached']}/"
        f"{document['counts']['suite_evaluations']} suite evaluations.",
        "",
    ]
    if document["compression"]:
        lines += ["| spec | bits/weight | sparsity | packed MiB | compressed |", "|---|---:|---:|---:|---|"]
        for c in document["compression"]:
            origin = "cached" if c["cached"] else f"{c['seconds']:.1f}s"
            lines.append(f"| `{c['spec']}` | {c['bits_per_weight']:.2f}{runtime_cell(c)} | {c['sparsity']:.1%} | "
                         f"{c['packed_bytes'] / 2**20:.1f} | {origin} |")
        lines.append("")
        exported = [export_text(c["spec"], c["export"]) for c in document["compression"] if c.get("export")]
        if exported:
            lines += [*[f"- {_escape(e)}" for e in exported], ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---:" if c in ("n", "baseline", "compressed", "drop") else "---" for c in COLUMNS) + "|")
    for cells in rows(document["results"]):
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    if document["notes"]:
        lines += ["", *[f"- {_escape(n)}" for n in document["notes"]]]
    return "\n".join(lines) + "\n"
