"""The ``--compress`` grammar, parsed once at the edge into frozen dataclasses.

A spec is a ``+``-joined chain of method steps, applied in order::

    none                      control: the "compressed" model is the baseline
    rtn8  rtn4g64  rtn3-sym   round-to-nearest, bits 2..8, group size, symmetric
    gptq4  gptq3g64  gptq4-act  GPTQ (``-act``: act-order)
    awq4  awq3g128            AWQ
    wanda50  wanda2:4         Wanda, unstructured percent or N:M
    sparsegpt50  sparsegpt2:4 SparseGPT
    magnitude50  magnitude2:4 magnitude pruning
    sparsegpt50+gptq4         stacked

Quantizers default to asymmetric groups of 128 columns (the papers' default);
``g0`` means one group per output row (per-channel). The canonical form
(``str(spec)``) is lower-case and omits defaults: ``RTN4G128`` -> ``rtn4``.
It is what cache keys, test ids and reports use, and ``parse(str(s)) == s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import CompressUsageError, did_you_mean

QUANTIZERS = ("rtn", "gptq", "awq")
PRUNERS = ("wanda", "sparsegpt", "magnitude")
METHODS = QUANTIZERS + PRUNERS
DEFAULT_GROUP_SIZE = 128
MIN_BITS, MAX_BITS = 2, 8

VALID_FORMS = (
    "none",
    "rtn<bits>[g<group>][-sym]        e.g. rtn8, rtn4g64, rtn3-sym   (bits 2-8, g0 = per-channel)",
    "gptq<bits>[g<group>][-sym][-act] e.g. gptq4, gptq3g64, gptq4-act",
    "awq<bits>[g<group>][-sym]        e.g. awq4, awq3g128",
    "wanda<percent> | wanda<N>:<M>    e.g. wanda50, wanda2:4",
    "sparsegpt<percent> | sparsegpt<N>:<M>",
    "magnitude<percent> | magnitude<N>:<M>",
    "<step>+<step>                    e.g. sparsegpt50+gptq4 (applied in order)",
)

_QUANT_RE = re.compile(r"^(rtn|gptq|awq)(\d+)(?:g(\d+))?((?:-(?:sym|act))*)$")
_PRUNE_RE = re.compile(r"^(wanda|sparsegpt|magnitude)(?:(\d+)|(\d+):(\d+))$")


@dataclass(frozen=True)
class MethodStep:
    """One compression step.

    Attributes:
        method: one of :data:`METHODS`.
        bits: weight bits for quantizers (2..8), else None.
        group_size: columns per quantization group; 0 = whole row; None for pruners.
        symmetric: symmetric grid (no zero point) instead of asymmetric.
        act_order: GPTQ only: quantize columns in order of decreasing Hessian diagonal.
        sparsity_pct: unstructured sparsity in percent (1..99) for pruners.
        n_of_m: (N, M): keep N of every M consecutive weights, for pruners.
    """

    method: str
    bits: int | None = None
    group_size: int | None = None
    symmetric: bool = False
    act_order: bool = False
    sparsity_pct: int | None = None
    n_of_m: tuple[int, int] | None = None

    @property
    def is_quantizer(self) -> bool:
        return self.method in QUANTIZERS

    @property
    def sparsity(self) -> float:
        """The fraction of weights this step zeroes (0 for quantizers)."""
        if self.sparsity_pct is not None:
            return self.sparsity_pct / 100
        if self.n_of_m is not None:
            n, m = self.n_of_m
            return (m - n) / m
        return 0.0

    def __str__(self) -> str:
        if self.is_quantizer:
            text = f"{self.method}{self.bits}"
            if self.group_size != DEFAULT_GROUP_SIZE:
                text += f"g{self.group_size}"
            if self.symmetric:
                text += "-sym"
            if self.act_order:
                text += "-act"
            return text
        if self.n_of_m is not None:
            return f"{self.method}{self.n_of_m[0]}:{self.n_of_m[1]}"
        return f"{self.method}{self.sparsity_pct}"


@dataclass(frozen=True)
class CompressionSpec:
    """An ordered chain of :class:`MethodStep`; the empty chain is ``none``."""

    steps: tuple[MethodStep, ...] = ()

    @property
    def is_none(self) -> bool:
        return not self.steps

    def __str__(self) -> str:
        return "+".join(str(s) for s in self.steps) or "none"


def _usage(text: str, detail: str) -> CompressUsageError:
    forms = "\n  ".join(VALID_FORMS)
    return CompressUsageError(
        f"invalid compression spec {text!r}: {detail}\nValid forms:\n  {forms}"
    )


def _parse_step(text: str, whole: str) -> MethodStep:
    m = _QUANT_RE.match(text)
    if m:
        method, bits, group, flags = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        if not MIN_BITS <= bits <= MAX_BITS:
            raise _usage(whole, f"{method} takes {MIN_BITS} to {MAX_BITS} bits, got {bits}")
        flag_list = [f for f in flags.split("-") if f]
        if len(set(flag_list)) != len(flag_list):
            raise _usage(whole, f"repeated flag in {text!r}")
        if "act" in flag_list and method != "gptq":
            raise _usage(whole, f"-act (act-order) applies to gptq only, not {method}")
        return MethodStep(
            method=method,
            bits=bits,
            group_size=DEFAULT_GROUP_SIZE if group is None else int(group),
            symmetric="sym" in flag_list,
            act_order="act" in flag_list,
        )
    m = _PRUNE_RE.match(text)
    if m:
        method = m.group(1)
        if m.group(2) is not None:
            pct = int(m.group(2))
            if not 1 <= pct <= 99:
                raise _usage(whole, f"{method} sparsity must be 1..99 percent, got {pct}")
            return MethodStep(method=method, sparsity_pct=pct)
        n, mm = int(m.group(3)), int(m.group(4))
        if not (1 <= n < mm <= 64):
            raise _usage(whole, f"N:M needs 1 <= N < M <= 64, got {n}:{mm}")
        return MethodStep(method=method, n_of_m=(n, mm))
    head = re.match(r"^[a-z]*", text).group(0)
    if head in METHODS:
        raise _usage(whole, f"{text!r} does not fit the form of {head}")
    hint = did_you_mean(head, METHODS + ("none",)) if head else ""
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
    return CompressionSpec(tuple(_parse_step(p, text) for p in parts))


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
