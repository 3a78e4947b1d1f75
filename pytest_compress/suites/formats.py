"""Dataset formats other tools publish, read into a suite's own case schema.

``dataset="bfcl:path"`` names a format before the path; without a prefix the file
is the project's JSONL (:mod:`pytest_compress.casefile`). A format lives in one module, listed in
:data:`FORMAT_MODULES`, that defines ``READERS`` (or the table its entry names):
suite name -> ``reader(path, suite)``
returning cases in that suite's schema (each with an ``id``). A reader reports
every problem as a :class:`DatasetError` naming the file, the record and the field.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from ..errors import DatasetError, did_you_mean

#: format -> the module that reads it, or ``module:TABLE`` when one module reads several formats
FORMAT_MODULES: dict[str, str] = {"bfcl": "pytest_compress.suites.bfcl",
                                  "decodingtrust": "pytest_compress.suites.trust.decodingtrust",
                                  "haystack": "pytest_compress.suites.plain_files:HAYSTACK_READERS",
                                  "docs": "pytest_compress.suites.plain_files:DOCS_READERS"}

Reader = Callable[[Path, object], list[dict]]


def split_format(dataset: str) -> tuple[str | None, str]:
    """``"bfcl:dir/x.json"`` -> ``("bfcl", "dir/x.json")``; a plain path -> ``(None, path)``.

    Only a known format name counts as a prefix, so ``C:\\data.jsonl`` stays a path."""
    head, sep, tail = str(dataset).partition(":")
    if sep and head in FORMAT_MODULES:
        return head, tail
    if sep and len(head) > 1 and "/" not in head and "\\" not in head and not Path(str(dataset)).exists():
        raise DatasetError(
            f"dataset {str(dataset)!r}: unknown format {head!r}.{did_you_mean(head, FORMAT_MODULES)} "
            f"Known formats: {', '.join(FORMAT_MODULES) or 'none'}; or give the path of a .jsonl file"
        )
    return None, str(dataset)


def _module(fmt: str):
    return importlib.import_module(FORMAT_MODULES[fmt].partition(":")[0])


def readers(fmt: str) -> dict[str, Reader]:
    """suite name -> reader of ``fmt`` (the module's ``READERS``, or the table its entry names)."""
    table = FORMAT_MODULES[fmt].partition(":")[2] or "READERS"
    return getattr(_module(fmt), table)


def reader_for(fmt: str, suite_name: str) -> Reader:
    """The reader of ``fmt`` for ``suite_name``; the error names the suites that read it."""
    table = readers(fmt)
    if suite_name not in table:
        raise DatasetError(
            f"suite {suite_name!r} does not read {fmt!r} files; the suites that do: {', '.join(table)} "
            f"(e.g. @compress_task({next(iter(table))!r}, dataset='{fmt}:PATH'))"
        )
    return table[suite_name]


def describe(dataset: str, suite_name: str, cases: list[dict]) -> str | None:
    """One line saying what a foreign-format ``dataset`` was read as (None for project JSONL):
    the format module's own ``describe(path, suite_name)`` when it has one (DecodingTrust names
    the sub-task it detected from the file's shape), else the format and the case count."""
    fmt, path = split_format(dataset)
    if fmt is None:
        return None
    own = getattr(_module(fmt), "describe", None)
    return own(path, suite_name) if own is not None else f"{path}: read as {fmt}, {len(cases)} cases used"
