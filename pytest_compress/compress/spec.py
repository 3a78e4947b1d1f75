"""The ``--compress`` grammar, built from the method registry and parsed once at the edge.

A spec is a ``+``-joined chain of method steps, applied in order (``sparsegpt50+gptq4``);
``none`` is the control, whose "compressed" model is the baseline. Each step is written in
its method's form (:mod:`.forms`), found by the longest registered name the text starts
with; ``pytest --compress-list`` prints every form. The canonical form (``str(spec)``) is
lower-case and omits defaults (``RTN4G128`` -> ``rtn4``); cache keys, test ids and reports
use it, and ``parse_spec(str(s)) == s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import CompressUsageError, did_you_mean
from .forms import FormError, MethodStep
from .registry import METHOD_ENTRIES, method_form, method_names


@dataclass(frozen=True)
class CompressionSpec:
    """An ordered chain of :class:`MethodStep`; the empty chain is ``none``."""

    steps: tuple[MethodStep, ...] = ()

    @property
    def is_none(self) -> bool:
        return not self.steps

    def __str__(self) -> str:
        return "+".join(str(s) for s in self.steps) or "none"


def valid_forms() -> list[str]:
    """One line per method (its grammar, what it is, examples), then the stacking rule."""
    lines = ["none"]
    for name, entry in METHOD_ENTRIES.items():
        grammar = entry.form.grammar(name)
        examples = f" e.g. {entry.examples}" if entry.examples else ""
        lines.append(f"{grammar:<38} {entry.summary}: {entry.form.describe()};{examples}")
    lines.append(f"{'<step>+<step>':<38} stacked, applied in order, e.g. sparsegpt50+gptq4")
    return lines


def _usage(text: str, detail: str) -> CompressUsageError:
    forms = "\n  ".join(valid_forms())
    return CompressUsageError(f"invalid compression spec {text!r}: {detail}\nValid forms:\n  {forms}")


def _parse_step(text: str, whole: str) -> MethodStep:
    names = sorted((n for n in method_names() if text.startswith(n)), key=len, reverse=True)
    problems = []
    for name in names:
        try:
            return method_form(name).parse(name, text[len(name):])
        except FormError as exc:
            problems.append(str(exc))
    if problems:
        raise _usage(whole, problems[0])
    head = re.match(r"^[a-z_]*", text).group(0)
    hint = did_you_mean(head, method_names() + ("none",)) if head else ""
    raise _usage(whole, f"unknown method {text!r}.{hint}")


def parse_spec(text: str) -> CompressionSpec:
    """Parse one spec (``"sparsegpt50+gptq4"``) into a :class:`CompressionSpec`."""
    norm = text.strip().lower().replace(" ", "")
    if not norm:
        raise _usage(text, "empty spec")
    if norm == "none":
        return CompressionSpec(())
    parts = norm.split("+")
    if "none" in parts:
        raise _usage(text, "'none' cannot be combined with other steps")
    if any(not p for p in parts):
        raise _usage(text, "empty step around '+'")
    steps = tuple(_parse_step(p, text) for p in parts)
    first: dict[str, MethodStep] = {}
    for step in steps:  # one format per thing quantized at run time (caught here, before any load)
        kind = method_form(step.method).runtime_kind(step)
        if kind in first:
            what = {"activations": "the activations", "kv_cache": "the KV cache"}.get(kind, kind)
            raise _usage(text, f"{first[kind]} and {step} both quantize {what}; a spec quantizes each in one "
                               "format: keep one of the two steps")
        if kind is not None:
            first[kind] = step
    return CompressionSpec(steps)


def parse_spec_list(text: str) -> tuple[CompressionSpec, ...]:
    """Parse the comma-separated ``--compress`` value; duplicates are dropped, order kept."""
    specs: list[CompressionSpec] = []
    for chunk in text.split(","):
        if not chunk.strip():
            continue
        spec = parse_spec(chunk)
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise _usage(text, "no spec given")
    return tuple(specs)
