"""The gate: paired per-case outcomes + limits + decision mode -> :class:`Verdict`.

Pure: no pytest, no I/O. The plugin turns a failing verdict into a failed test.

Decision modes (``compress_decision``):

* ``point``: fail when the point estimate breaks a limit;
* ``strict``: pass only when the whole confidence interval is within the limit
  (non-inferiority shown);
* ``lenient``: fail only when the whole interval is beyond it (a regression shown).

Whatever the mode the interval is reported, a verdict whose interval straddles
the limit is marked *fragile* with the number of cases that would settle it,
and a gain larger than ``max_drop`` is flagged as suspicious (a broken
evaluation is likelier than a compression that helps that much).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .limits import Limit

DECISIONS = ("point", "strict", "lenient")


@dataclass(frozen=True)
class Verdict:
    """Outcome of one metric's gate.

    Attributes:
        status: ``pass``, ``fail`` or ``ungated`` (no limit applies).
        reasons: one line per limit checked, e.g. ``drop 0.31 > max_drop 0.10``.
        fragile: the interval straddles a limit: the verdict could go either way.
        settle_n: for a fragile verdict, about how many cases would settle it.
        suspicious_gain: the compressed model beat the baseline by more than max_drop.
        gain_fails: that gain fails the gate (``compress_on_gain = fail``), not just warns.
    """

    status: str
    reasons: tuple[str, ...] = ()
    fragile: bool = False
    settle_n: int | None = None
    suspicious_gain: bool = False
    gain_fails: bool = False

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def __str__(self) -> str:
        text = self.status.upper()
        if self.fragile:
            text += " (fragile" + (f": raise n to about {self.settle_n}" if self.settle_n else "") + ")"
        return text


def _check(value: float, low: float, high: float, bound: float, mode: str, upper: bool) -> tuple[bool, bool]:
    """(violated, fragile) for ``value <= bound`` (``upper``) or ``value >= bound``, given its interval."""
    if not upper:  # reflect so the same code checks lower bounds
        value, low, high, bound = -value, -high, -low, -bound
    if mode == "strict":
        violated = high > bound
    elif mode == "lenient":
        violated = low > bound
    else:
        violated = value > bound
    return violated, low <= bound < high


def judge(
    *,
    baseline: float,
    compressed: float,
    drop: float,
    interval: tuple[float, float],
    comp_interval: tuple[float, float],
    limit: Limit,
    mode: str = "point",
    settle=None,
    fail_on_gain: bool = False,
) -> Verdict:
    """Apply ``limit`` under ``mode``.

    ``drop`` is signed so that positive means worse; ``interval`` is its
    confidence interval; ``comp_interval`` the interval of the compressed score
    (for ``min``/``max``). ``settle(bound)`` estimates the cases needed to
    settle a fragile drop verdict against ``bound``. ``fail_on_gain`` makes a
    gain larger than ``max_drop`` a failure instead of a flag.
    """
    if mode not in DECISIONS:
        raise ValueError(f"unknown decision mode {mode!r}; use one of {DECISIONS}")
    if limit.is_empty:
        return Verdict("ungated")
    reasons: list[str] = []
    failed = fragile = False
    settle_n = None
    checks = []
    if limit.max_drop is not None:
        checks.append(("drop", drop, interval, limit.max_drop, True, "max_drop"))
    if limit.max_rel_drop is not None:
        scale = abs(baseline) if baseline else float("nan")
        rel = (drop / scale, (interval[0] / scale, interval[1] / scale))
        if np.isfinite(scale):
            checks.append(("relative drop", rel[0], rel[1], limit.max_rel_drop, True, "max_rel_drop"))
        else:
            reasons.append("relative drop undefined: baseline score is 0")
            failed = True
    if limit.max_change is not None:  # two one-sided checks: the change stays within +-max_change
        checks.append(("change", drop, interval, limit.max_change, True, "max_change"))
        checks.append(("change", drop, interval, -limit.max_change, False, "-max_change"))
    if limit.min is not None:
        checks.append(("score", compressed, comp_interval, limit.min, False, "min"))
    if limit.max is not None:
        checks.append(("score", compressed, comp_interval, limit.max, True, "max"))
    for label, value, (low, high), bound, upper, key in checks:
        violated, straddles = _check(value, low, high, bound, mode, upper)
        sign = (">" if upper else "<") if violated else ("<=" if upper else ">=")
        reasons.append(f"{label} {value:+.3f} [{low:+.3f}, {high:+.3f}] {sign} {key} {bound:g}")
        failed |= violated
        if straddles:
            fragile = True
            if key == "max_drop" and settle is not None:
                settle_n = settle(bound)
    gain = limit.max_drop is not None and -drop > limit.max_drop
    gain_fails = gain and fail_on_gain
    if gain_fails:
        reasons.append(f"gain {-drop:+.3f} > max_drop {limit.max_drop:g}: fails (compress_on_gain = fail)")
    return Verdict("fail" if failed or gain_fails else "pass", tuple(reasons), fragile, settle_n, gain, gain_fails)
