"""Tool calls as models write them, in Python-call syntax or JSON: one parser for every suite.

* Python: ``geometry.circumference(radius=3)``, keyword arguments only, dotted names kept whole.
  A value is any literal (``interval=[1.0, 3.0]``, ``opts={"a": 1}``, ``None``); one that is not a
  literal (``x=data['a']``, ``f=lambda x: x**2``) keeps its source text, as BFCL's parser does.
  Several calls: a list ``[f(a=1), g(b=2)]``, or calls one after another, apart by newlines, ``;``
  or ``,``.
* JSON: ``{"name": ..., "arguments" | "args" | "parameters": {...}}`` (arguments may be a JSON
  string, as in OpenAI's tool calls), a list of them, or BFCL's ``{"func_name": {"arg": value}}``.
  Python literals are read too (``{'name': 'f', 'args': {'a': True}}``).

:func:`parse_calls` reads the earliest call in the text, skipping prose, backticks and code
fences, and the calls that directly follow it. Nothing is evaluated: call text goes through
``ast.parse`` and values through ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

SYNTAXES = ("any", "python", "json")
#: keys that hold the arguments of a JSON call, in the order they are looked for
ARG_KEYS = ("arguments", "args", "parameters")

_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_CALL_START = rf"(?<![\w.]){_NAME}\s*\("
_STARTS = {
    "any": re.compile(rf"[\[{{]|{_CALL_START}"),
    "python": re.compile(rf"\[|{_CALL_START}"),
    "json": re.compile(r"[\[{]"),
}
_SEPARATORS = re.compile(r"[\s,;]*")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
# Keyword arguments named like Python keywords (``from=``, ``class=``) are renamed while parsing.
_KW_PREFIX = "_calls_kw_"
_KEYWORD_ARG = re.compile(
    r"([(,]\s*)(" + "|".join(k for k in keyword.kwlist if k not in ("True", "False", "None")) + r")(\s*=)(?!=)")


@dataclass(frozen=True)
class Call:
    """One tool call: the function's full name and its arguments (JSON values)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


def parse_calls(text: str, syntax: str = "any", *, arg_keys: Sequence[str] = ARG_KEYS,
                bare: bool = True) -> list[Call]:
    """The calls in ``text``: the earliest one and those right after it; ``[]`` when none parses.

    ``syntax`` limits the forms read to ``"python"`` or ``"json"``; ``arg_keys`` are the JSON keys
    that may hold the arguments and ``bare`` allows BFCL's ``{"func_name": {...}}`` shape.
    """
    if syntax not in SYNTAXES:
        raise ValueError(f"syntax must be one of {SYNTAXES}, got {syntax!r}")
    starts = _STARTS[syntax]
    for m in starts.finditer(text):
        first = _parse_at(text, m, syntax, tuple(arg_keys), bare)
        if first is None:
            continue
        calls, end = first
        while True:
            nxt = starts.match(text, _SEPARATORS.match(text, end).end())
            more = _parse_at(text, nxt, syntax, tuple(arg_keys), bare) if nxt else None
            if more is None:
                return calls
            calls, end = calls + more[0], more[1]
    return []


# --- rendering ---------------------------------------------------------------------------

def render_python(calls: Sequence[Call]) -> str:
    """``f(a=1)`` for one call, ``[f(a=1), g(b='x')]`` for several."""
    text = ", ".join(f"{c.name}(" + ", ".join(f"{k}={_py_literal(v)}" for k, v in c.args.items()) + ")"
                     for c in calls)
    return text if len(calls) == 1 else f"[{text}]"


def render_json(calls: Sequence[Call]) -> str:
    """``{"name": ..., "arguments": {...}}`` for one call, a list of them for several."""
    objs = [{"name": c.name, "arguments": c.args} for c in calls]
    return json.dumps(objs[0] if len(objs) == 1 else objs, ensure_ascii=False)


def _py_literal(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


# --- scanning ----------------------------------------------------------------------------

def _string_end(text: str, i: int) -> int | None:
    """Index just past the string literal opening at ``text[i]`` (a quote), None if unclosed."""
    delim = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
    j = i + len(delim)
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text.startswith(delim, j):
            return j + len(delim)
        else:
            j += 1
    return None


def _closing(text: str, i: int) -> int | None:
    """Index just past the bracket that closes ``text[i]``, string literals skipped; None if none does."""
    stack: list[str] = []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _string_end(text, i)
            if i is None:
                return None
            continue
        if c in _CLOSERS:
            stack.append(_CLOSERS[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                return None
            if not stack:
                return i + 1
        i += 1
    return None


def _escape_controls(literal: str) -> str:
    """A string literal with raw control characters (newlines, NUL) written as escapes."""
    out, escaped = [], False
    for c in literal:
        out.append(f"\\x{ord(c):02x}" if ord(c) < 32 and not escaped else c)
        escaped = c == "\\" and not escaped
    return "".join(out)


def _sanitize(src: str) -> str:
    """``src`` made parseable: control characters in strings escaped, keyword-named arguments renamed."""
    out, i, plain = [], 0, 0
    while i < len(src):
        if src[i] in "\"'":
            end = _string_end(src, i) or len(src)
            out += [_KEYWORD_ARG.sub(rf"\1{_KW_PREFIX}\2\3", src[plain:i]), _escape_controls(src[i:end])]
            i = plain = end
        else:
            i += 1
    out.append(_KEYWORD_ARG.sub(rf"\1{_KW_PREFIX}\2\3", src[plain:]))
    return "".join(out)


def _expression(src: str) -> tuple[ast.expr, str] | None:
    src = _sanitize(src)
    try:
        return ast.parse(src, mode="eval").body, src
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _parse_at(text: str, m: re.Match, syntax: str, arg_keys: tuple[str, ...],
              bare: bool) -> tuple[list[Call], int] | None:
    """The calls of the candidate that starts at ``m``, and where it ends."""
    start = m.start()
    opener = m.end() - 1 if text[m.end() - 1] == "(" else start
    end = _closing(text, opener)
    if end is None:
        return None
    region = text[start:end]
    if text[start] == "{" or (text[start] == "[" and syntax != "python"):
        try:
            calls = _calls_from_value(json.loads(region), arg_keys, bare)
        except (ValueError, RecursionError):
            calls = None
        if calls:
            return calls, end
    parsed = _expression(region)
    if parsed is None:
        return None
    node, src = parsed
    if syntax != "json":
        nodes = node.elts if isinstance(node, (ast.List, ast.Tuple)) and text[start] == "[" else [node]
        calls = [_call_from_node(n, src) for n in nodes]
        if calls and all(calls):
            return calls, end
    if syntax != "python" and text[start] in "[{":
        value = _literal(node)
        calls = _calls_from_value(value, arg_keys, bare) if value is not _NOT_JSON else None
        if calls:
            return calls, end
    return None


# --- Python syntax -----------------------------------------------------------------------

def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _call_from_node(node: ast.expr, src: str) -> Call | None:
    """A call with keyword arguments only (positional ones have no parameter name to check)."""
    if not isinstance(node, ast.Call) or node.args:
        return None
    name = _dotted(node.func)
    if name is None:
        return None
    args: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:  # **kwargs
            return None
        key = kw.arg.removeprefix(_KW_PREFIX)
        if key in args:
            return None
        value = _literal(kw.value)
        if value is _NOT_JSON:
            value = (ast.get_source_segment(src, kw.value) or ast.unparse(kw.value)).replace(_KW_PREFIX, "")
        args[key] = value
    return Call(name, args)


_NOT_JSON = object()


def _literal(node: ast.expr) -> Any:
    """The JSON value of a literal node (tuples become lists); ``_NOT_JSON`` when it is none."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_JSON
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _NOT_JSON if any(v is _NOT_JSON for v in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _jsonable(v) for k, v in value.items()}
        return _NOT_JSON if any(v is _NOT_JSON for v in items.values()) else items
    return _NOT_JSON  # sets, bytes, complex numbers, non-string keys


# --- JSON syntax -------------------------------------------------------------------------

def _calls_from_value(value: Any, arg_keys: tuple[str, ...], bare: bool) -> list[Call] | None:
    items = value if isinstance(value, list) else [value]
    calls = [_json_call(v, arg_keys, bare) if isinstance(v, dict) else None for v in items]
    return calls if calls and all(calls) else None


def _json_call(obj: dict, arg_keys: tuple[str, ...], bare: bool) -> Call | None:
    if isinstance(obj.get("function"), dict) and "name" not in obj:  # {"type": "function", "function": {...}}
        return _json_call(obj["function"], arg_keys, bare)
    if isinstance(obj.get("name"), str):
        key = next((k for k in arg_keys if k in obj), None)
        if key is None:
            return None
        args = obj[key]
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return None
        return Call(obj["name"], dict(args)) if isinstance(args, dict) else None
    if bare and len(obj) == 1:
        (name, args), = obj.items()
        if isinstance(args, dict) and re.fullmatch(_NAME, name):
            return Call(name, dict(args))
    return None
