"""Reports built from paired results: the terminal table, and with ``--compress-report=DIR``
``report.json`` (versioned schema), ``report.md`` and ``report.html`` (with plots);
the Markdown also goes to ``$GITHUB_STEP_SUMMARY`` when that is set."""

from __future__ import annotations

import os
from pathlib import Path

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _write(path: Path, text: str) -> None:
    """Write atomically: a reader (a CI artifact upload) never sees half a report."""
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(directory, document: dict) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` of ``document`` into ``directory``."""
    import json

    from .html import render_html
    from .markdown import render_markdown

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        "report.json": json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n",
        "report.md": render_markdown(document),
        "report.html": render_html(document),
    }
    paths = []
    for name, text in outputs.items():
        _write(directory / name, text)
        paths.append(directory / name)
    return paths


def append_step_summary(document: dict, environ=os.environ) -> Path | None:
    """Append the Markdown report to the GitHub Actions job summary when ``$GITHUB_STEP_SUMMARY`` is set."""
    from .markdown import render_markdown

    target = environ.get(STEP_SUMMARY_ENV)
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as f:
        f.write(render_markdown(document) + "\n")
    return Path(target)
