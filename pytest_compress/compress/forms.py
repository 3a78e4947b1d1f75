"""The grammar fragments a compression method declares, and the frozen step they parse into.

A method's registry entry names its form: :class:`QuantizerForm` (``<name><bits>[g<group>]``
and flags), :class:`PrunerForm` (``<name><percent>`` or ``<name><N>:<M>``) or
:class:`FormatForm` (a number format whose bits and groups the name fixes: ``fp8``, ``nvfp4-a``). Options of a
method's own are :class:`Option` flags of its form (GPTQ's ``-act``), so a new method
with a new option touches no shared code. Import-light: no torch here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_GROUP_SIZE = 128


class FormError(ValueError):
    """The text names this method but does not fit its form; the message says how."""


@dataclass(frozen=True)
class Option:
    """A ``-flag`` a method accepts, and what it does (shown in the valid forms)."""

    flag: str
    help: str


@dataclass(frozen=True)
class MethodStep:
    """One compression step, as parsed from its text.

    Attributes:
        method: the registered method name.
        bits: weight bits for quantizers, else None.
        group_size: columns per quantization group; 0 = whole row; None for pruners.
        symmetric: symmetric grid (no zero point) instead of asymmetric.
        sparsity_pct: unstructured sparsity in percent for pruners.
        n_of_m: (N, M): keep N of every M consecutive weights, for pruners.
        options: the method's own flags that are set (e.g. ``{"act"}`` for GPTQ act-order).
    """

    method: str
    bits: int | None = None
    group_size: int | None = None
    symmetric: bool = False
    sparsity_pct: int | None = None
    n_of_m: tuple[int, int] | None = None
    options: frozenset[str] = frozenset()

    @property
    def is_quantizer(self) -> bool:
        return self.bits is not None

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
        from .registry import method_form  # the canonical text is the form's to write

        return method_form(self.method).text(self)


def _flags(text: str, allowed: tuple[str, ...], name: str) -> set[str]:
    flags = [f for f in text.split("-") if f]
    if len(set(flags)) != len(flags):
        raise FormError(f"repeated flag in {name}{text!r}")
    unknown = [f for f in flags if f not in allowed]
    if unknown:
        known = ", ".join(f"-{f}" for f in allowed) or "none"
        raise FormError(f"{name} has no option -{unknown[0]} (its options: {known})")
    return set(flags)


@dataclass(frozen=True)
class QuantizerForm:
    """``<name><bits>[g<group>][-sym][-<option>...]``: weights on per-group integer grids."""

    options: tuple[Option, ...] = ()
    min_bits: int = 2
    max_bits: int = 8
    default_group_size: int = DEFAULT_GROUP_SIZE

    _REST = re.compile(r"^(\d+)(?:g(\d+))?((?:-[a-z0-9]+)*)$")

    def grammar(self, name: str) -> str:
        flags = "".join(f"[-{o.flag}]" for o in self.options)
        return f"{name}<bits>[g<group>][-sym]{flags}"

    def describe(self) -> str:
        own = "".join(f", -{o.flag}: {o.help}" for o in self.options)
        return (f"bits {self.min_bits}-{self.max_bits}, groups of {self.default_group_size} "
                f"by default, g0 = per-channel, -sym: symmetric grid{own}")

    def parse(self, name: str, rest: str) -> MethodStep:
        m = self._REST.match(rest)
        if m is None:
            raise FormError(f"{name + rest!r} does not fit the form of {name}: {self.grammar(name)}")
        bits, group = int(m.group(1)), m.group(2)
        if not self.min_bits <= bits <= self.max_bits:
            raise FormError(f"{name} takes {self.min_bits} to {self.max_bits} bits, got {bits}")
        flags = _flags(m.group(3), ("sym", *(o.flag for o in self.options)), name)
        return MethodStep(name, bits=bits, group_size=self.default_group_size if group is None else int(group),
                          symmetric="sym" in flags, options=frozenset(flags - {"sym"}))

    def runtime_kind(self, step: MethodStep) -> str | None:
        return None  # weights only

    def text(self, step: MethodStep) -> str:
        text = f"{step.method}{step.bits}"
        if step.group_size != self.default_group_size:
            text += f"g{step.group_size}"
        if step.symmetric:
            text += "-sym"
        return text + "".join(f"-{o.flag}" for o in self.options if o.flag in step.options)


@dataclass(frozen=True)
class PrunerForm:
    """``<name><percent>`` (unstructured) or ``<name><N>:<M>`` (keep N of every M)."""

    max_m: int = 64

    _REST = re.compile(r"^(?:(\d+)|(\d+):(\d+))$")

    def grammar(self, name: str) -> str:
        return f"{name}<percent> | {name}<N>:<M>"

    def describe(self) -> str:
        return f"percent 1-99, or N:M with 1 <= N < M <= {self.max_m}"

    def parse(self, name: str, rest: str) -> MethodStep:
        m = self._REST.match(rest)
        if m is None:
            raise FormError(f"{name + rest!r} does not fit the form of {name}: {self.grammar(name)}")
        if m.group(1) is not None:
            pct = int(m.group(1))
            if not 1 <= pct <= 99:
                raise FormError(f"{name} sparsity must be 1..99 percent, got {pct}")
            return MethodStep(name, sparsity_pct=pct)
        n, mm = int(m.group(2)), int(m.group(3))
        if not 1 <= n < mm <= self.max_m:
            raise FormError(f"N:M needs 1 <= N < M <= {self.max_m}, got {n}:{mm}")
        return MethodStep(name, n_of_m=(n, mm))

    def runtime_kind(self, step: MethodStep) -> str | None:
        return None  # weights only

    def text(self, step: MethodStep) -> str:
        if step.n_of_m is not None:
            return f"{step.method}{step.n_of_m[0]}:{step.n_of_m[1]}"
        return f"{step.method}{step.sparsity_pct}"


@dataclass(frozen=True)
class FormatForm:
    """``<name>[-<option>...]``: a number format whose bits and groups its name fixes.

    ``bits`` and ``group_size`` are the weights' (None for a step that leaves weights alone,
    such as a KV-cache format); ``about`` says what the format is, for the valid forms;
    ``runtime`` is what it quantizes while the model runs (``"activations"`` or ``"kv_cache"``),
    ``runtime_if`` an option that turns that on and ``runtime_unless`` one that turns it off.
    """

    about: str
    bits: int | None = None
    group_size: int | None = None
    options: tuple[Option, ...] = ()
    runtime: str | None = None
    runtime_if: str | None = None
    runtime_unless: str | None = None

    def runtime_kind(self, step: MethodStep) -> str | None:
        """What ``step`` quantizes while the model runs, or None (weights only)."""
        if self.runtime_if is not None and self.runtime_if not in step.options:
            return None
        if self.runtime_unless is not None and self.runtime_unless in step.options:
            return None
        return self.runtime

    _REST = re.compile(r"^((?:-[a-z0-9]+)*)$")

    def grammar(self, name: str) -> str:
        return name + "".join(f"[-{o.flag}]" for o in self.options)

    def describe(self) -> str:
        return self.about + "".join(f", -{o.flag}: {o.help}" for o in self.options)

    def parse(self, name: str, rest: str) -> MethodStep:
        m = self._REST.match(rest)
        if m is None:
            raise FormError(f"{name + rest!r} does not fit the form of {name}: {self.grammar(name)}")
        flags = _flags(m.group(1), tuple(o.flag for o in self.options), name)
        return MethodStep(name, bits=self.bits, group_size=self.group_size, symmetric=self.bits is not None,
                          options=frozenset(flags))

    def text(self, step: MethodStep) -> str:
        return step.method + "".join(f"-{o.flag}" for o in self.options if o.flag in step.options)
