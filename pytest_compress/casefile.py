"""User-supplied cases: one JSON object per line, checked against a suite's schema.

A suite declares its case fields (:class:`CaseField`); ``dataset=path.jsonl``
(marker keyword or suite parameter) replaces the generated cases with the file's.
Every problem is reported with the file, the line number and the field at fault,
so a malformed file never runs half-read. (Below both the suites and the calibration
loader, which read such files too.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import DatasetError, did_you_mean

_KIND_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


@dataclass(frozen=True)
class CaseField:
    """One field of a suite's JSONL case schema.

    ``kind`` is the JSON type (``str``, ``int``, ``float`` (ints accepted),
    ``bool``, ``list``, ``dict``); ``items`` the element type of a list.
    """

    name: str
    kind: type
    description: str = ""
    required: bool = True
    items: type | None = None

    def type_name(self) -> str:
        base = _KIND_NAMES[self.kind]
        return f"{base} of {_KIND_NAMES[self.items]}s" if self.items else base

    def accepts(self, value) -> bool:
        if self.kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind)
        if ok and self.items is not None:
            item = CaseField(self.name, self.items)
            ok = all(item.accepts(v) for v in value)
        return ok


ID_FIELD = CaseField("id", str, "unique case id (default: '<file stem>-<line>')", required=False)


def schema_lines(fields: Sequence[CaseField]) -> list[str]:
    """Human-readable schema, one line per field (for docs and ``--compress-list``)."""
    return [
        f"{f.name}: {f.type_name()}{'' if f.required else ' (optional)'}  {f.description}".rstrip()
        for f in (ID_FIELD, *fields)
    ]


def load_cases(path: str | Path, fields: Sequence[CaseField], owner: str, *, strict: bool = True) -> list[dict]:
    """Read and validate ``path``; returns the cases in file order, each with an ``id``.

    ``owner`` names the reader in messages (``suite 'tool_use'``). ``strict=False``
    ignores fields the schema does not name (for files written for other tools).
    """
    path = Path(path)
    where = f"{owner}, dataset {str(path)!r}"
    if not path.is_file():
        raise DatasetError(f"{where}: no such file. Pass the path of a .jsonl file (one JSON object per line).")
    known = {f.name: f for f in ((ID_FIELD,) if strict else ()) + tuple(fields)}
    cases: list[dict] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}, line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(case, dict):
            raise DatasetError(f"{where}, line {lineno}: expected a JSON object, got {type(case).__name__}")
        if not strict:
            case = {k: v for k, v in case.items() if k in known}
        for name in case:
            if name not in known:
                raise DatasetError(
                    f"{where}, line {lineno}: unknown field {name!r}.{did_you_mean(name, known)} "
                    f"Fields of this suite: {', '.join(known)}"
                )
        for f in known.values():
            if f.name not in case:
                if f.required:
                    raise DatasetError(
                        f"{where}, line {lineno}: missing field {f.name!r} ({f.type_name()}: {f.description})"
                    )
                continue
            if not f.accepts(case[f.name]):
                raise DatasetError(
                    f"{where}, line {lineno}, field {f.name!r}: expected {f.type_name()}, "
                    f"got {json.dumps(case[f.name])[:60]}"
                )
        case.setdefault("id", f"{path.stem}-{lineno}")
        if case["id"] in seen:
            raise DatasetError(f"{where}, line {lineno}: id {case['id']!r} already used on line {seen[case['id']]}")
        seen[case["id"]] = lineno
        cases.append(case)
    if not cases:
        raise DatasetError(f"{where}: the file holds no cases")
    return cases
