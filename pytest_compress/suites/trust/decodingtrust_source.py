"""Reading one DecodingTrust data file for :mod:`.decodingtrust`: CSV rows, JSON lines or a JSON document.

Every message names the suite, the file, the line or record and the field.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ...errors import DatasetError

SHOW = 60


def show(value) -> str:
    return json.dumps(value, ensure_ascii=False)[:SHOW]


def cap(label: str) -> str:
    return label[:1].upper() + label[1:]


class Source:
    """One DecodingTrust file, read once: CSV rows, JSON lines or one JSON document.

    ``rows`` holds ``(where, ref, record)``: ``where`` for messages ("line 4"),
    ``ref`` for case ids ("4"). A JSON document is kept whole in ``doc``.
    """

    def __init__(self, path: Path, suite: str):
        self.path, self.suite = path, suite
        self.header: list[str] | None = None
        self.doc = None
        self.rows: list[tuple[str, str, object]] = []
        self.notes: list[str] = []
        if not path.is_file():
            raise self.error(None, None, "no such file. Pass a DecodingTrust data file, e.g. "
                                         "decodingtrust:data/stereotype/dataset/stereotype_bias_data.jsonl")
        if path.suffix == ".npy":
            raise self.error(None, None, "a NumPy array (DecodingTrust's labels or sensitive attributes beside a "
                                         "prompt file); pass the prompt file (.jsonl): the reader takes labels "
                                         "and groups from its records")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self.error(None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if path.suffix == ".csv":
            self._read_csv(text)
        elif path.suffix == ".jsonl":
            self._read_lines(text)
        else:
            try:
                self.doc = json.loads(text)
            except json.JSONDecodeError as exc:
                if exc.msg != "Extra data":
                    raise self.error(f"line {exc.lineno}", None,
                                     f"not valid JSON ({exc.msg} at column {exc.colno})") from None
                self._read_lines(text)

    def error(self, where: str | None, field_name: str | None, why: str) -> DatasetError:
        parts = [f"suite {self.suite!r}, decodingtrust file {str(self.path)!r}"]
        parts += [where] if where else []
        parts += [f"field {field_name!r}"] if field_name else []
        return DatasetError(", ".join(parts) + f": {why}")

    def _read_csv(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            self.header = next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    if len(row) != len(self.header):
                        raise self.error(f"line {start}", None, f"{len(row)} columns; the header has "
                                                                f"{len(self.header)} ({','.join(self.header)})")
                    self.rows.append((f"line {start}", str(start), dict(zip(self.header, row))))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise self.error(f"line {reader.line_num}", None, f"not valid CSV ({exc})") from None

    def _read_lines(self, text: str) -> None:
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    self.rows.append((f"line {lineno}", str(lineno), json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise self.error(f"line {lineno}", None,
                                     f"not valid JSON ({exc.msg} at column {exc.colno})") from None

    def record(self, where: str, value) -> dict:
        if not isinstance(value, dict):
            raise self.error(where, None, f"expected a JSON object, got {show(value)}")
        return value

    def text(self, where: str, record: dict, name: str, label: str | None = None) -> str:
        """``record[name]`` as a non-empty, stripped string (``label`` names it in messages)."""
        if name not in record:
            raise self.error(where, label or name, "missing (a non-empty string)")
        value = record[name]
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, label or name, f"expected a non-empty string, got {show(value)}")
        return value.strip()

    def first(self):
        """The first record (or the document), for shape detection."""
        return self.rows[0][2] if self.rows else self.doc

    def columns(self) -> set[str]:
        return set(self.header or ())
