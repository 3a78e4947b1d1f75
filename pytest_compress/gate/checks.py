"""Limits resolved into checks: one-sided statements ``E[x] <= threshold`` about a metric.

Every limit key becomes one or two :class:`Check` objects, and every check is
the same kind of statement about the mean of a per-case quantity ``x`` built
from the paired values (``b`` baseline, ``c`` compressed, ``d`` the drop signed
so that positive is worse):

=====================  =================================  ==============
key                    x per case                         threshold
=====================  =================================  ==============
``max_drop``           ``d``                              ``max_drop``
``max_change (fall)``  ``d``                              ``max_change``
``max_change (rise)``  ``-d``                             ``max_change``
``max_rel_drop``       ``(1-r) b - c`` (``c - (1+r) b``)  0
``min``                ``-c``                             ``-min``
``max``                ``c``                              ``max``
=====================  =================================  ==============

The relative drop is linear in the paired means (``c >= (1 - r) b`` is the
same statement as a relative drop ``<= r``), so it needs no ratio estimate and
a baseline of 0 is no special case. A metric's declared range ``[low, high]``
bounds ``x``, which is all the anytime-valid test needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..limits import Limit

DROP_KEYS = ("max_drop", "max_change (fall)", "max_change (rise)")


@dataclass(frozen=True)
class Check:
    """One one-sided check of one metric: the limit ``key`` with its configured ``bound``."""

    metric: str
    key: str
    bound: float

    @property
    def on_drop(self) -> bool:
        """A statement about the difference between the models (an identical pair settles it)."""
        return self.key in DROP_KEYS or self.key == "max_rel_drop"

    @property
    def quantity(self) -> str:
        return {"max_change (rise)": "rise", "max_rel_drop": "relative drop", "min": "score",
                "max": "score"}.get(self.key, "drop")

    def values(self, b: np.ndarray, c: np.ndarray, higher_is_better: bool, low: float, high: float):
        """``(x, threshold, x_low, x_high)`` for the paired per-case values ``b``, ``c`` of a
        metric whose values lie in ``[low, high]``."""
        width = high - low
        d = (b - c) if higher_is_better else (c - b)
        if self.key in ("max_drop", "max_change (fall)"):
            return d, self.bound, -width, width
        if self.key == "max_change (rise)":
            return -d, self.bound, -width, width
        if self.key == "max_rel_drop":
            # c >= (1 - r) b  (higher is better)  or  c <= (1 + r) b  (lower is better)
            k = 1.0 - self.bound if higher_is_better else 1.0 + self.bound
            scaled = (k * low, k * high) if k >= 0 else (k * high, k * low)
            if higher_is_better:
                return k * b - c, 0.0, scaled[0] - high, scaled[1] - low
            return c - k * b, 0.0, low - scaled[1], high - scaled[0]
        if self.key == "min":
            return -c, -self.bound, -high, -low
        if self.key == "max":
            return c, self.bound, low, high
        raise ValueError(f"unknown check key {self.key!r}")

    def shown(self, baseline: float, compressed: float, higher_is_better: bool) -> float:
        """The checked quantity in the user's units, from the two means."""
        drop = (baseline - compressed) if higher_is_better else (compressed - baseline)
        if self.key == "max_change (rise)":
            return -drop
        if self.key == "max_rel_drop":
            return drop / abs(baseline) if baseline else float("nan")
        if self.key in ("min", "max"):
            return compressed
        return drop

    def holds_text(self, holds: bool) -> str:
        """``drop <= max_drop 0.1``, ``score >= min 0.6`` ... (``holds=False``: the broken form)."""
        lower = self.key == "min"
        sign = (">=" if holds else "<") if lower else ("<=" if holds else ">")
        name = "max_change" if self.key.startswith("max_change") else self.key
        return f"{self.quantity} {sign} {name} {self.bound:g}"


def checks_for(metric: str, limit: Limit) -> list[Check]:
    """The checks one metric's resolved limit makes, in a fixed order."""
    out = [] if limit.max_drop is None else [Check(metric, "max_drop", limit.max_drop)]
    if limit.max_rel_drop is not None:
        out.append(Check(metric, "max_rel_drop", limit.max_rel_drop))
    if limit.max_change is not None:
        out += [Check(metric, "max_change (fall)", limit.max_change),
                Check(metric, "max_change (rise)", limit.max_change)]
    if limit.min is not None:
        out.append(Check(metric, "min", limit.min))
    if limit.max is not None:
        out.append(Check(metric, "max", limit.max))
    return out
