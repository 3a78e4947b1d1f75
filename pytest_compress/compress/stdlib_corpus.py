"""Real English text that every Python installation carries: the standard library's docstrings.

Read at run time from the interpreter's own ``.py`` files (parsed with :mod:`ast`, never
imported or executed, never copied into this project). Modules are split by a hash of
their name into a *calibration* part (about 80%) and a *held-out* part, so quality can be
measured on real text that calibration never saw. Test packages and demos are left out.
"""

from __future__ import annotations

import ast
import hashlib
import random
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

PARTS = ("calibration", "held_out")
#: one module in HELD_OUT_EVERY goes to the held-out part
HELD_OUT_EVERY = 5
#: a module's docstrings shorter than this together say too little to be a document
MIN_DOCUMENT_CHARS = 200
_SKIP_DIRS = {"test", "tests", "idlelib", "turtledemo", "site-packages", "dist-packages", "__pycache__",
              "lib2to3", "ensurepip", "venv", "tkinter"}


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def part_of(module: str) -> str:
    """Which part a module's text belongs to (stable across machines and Python versions)."""
    return "held_out" if hashlib.sha256(module.encode()).digest()[0] % HELD_OUT_EVERY == 0 else "calibration"


@lru_cache(maxsize=4)
def module_files(part: str) -> tuple[tuple[str, Path], ...]:
    """``(module name, path)`` of the standard-library sources in ``part``, sorted by name."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    root = stdlib_root()
    found = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if _SKIP_DIRS & set(rel.parts[:-1]) or rel.name.startswith("test_"):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        if part_of(module) == part:
            found.append((module, path))
    return tuple(sorted(found))


def module_document(path: Path) -> str:
    """A module's docstrings (module, then classes and functions in source order), or ``""``."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return ""
    nodes = [tree, *(n for n in ast.walk(tree)
                     if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)))]
    docs = [d for d in (ast.get_docstring(n, clean=True) for n in nodes) if d and len(d.split()) >= 4]
    text = "\n\n".join(dict.fromkeys(docs))
    return text if len(text) >= MIN_DOCUMENT_CHARS else ""


def documents(part: str, seed: int, enough_chars: int | None = None) -> list[str]:
    """The part's documents (one per module) in a seeded order; with ``enough_chars``, only
    as many as reach that many characters (so a small calibration reads few files)."""
    files = list(module_files(part))
    random.Random(seed).shuffle(files)
    out, size = [], 0
    for _, path in files:
        doc = module_document(path)
        if doc:
            out.append(doc)
            size += len(doc)
            if enough_chars is not None and size >= enough_chars:
                break
    return out


def describe() -> str:
    """Where the text comes from, for reports: the interpreter whose library was read."""
    return f"python {sys.version.split()[0]} standard-library docstrings"
