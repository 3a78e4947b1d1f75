"""The one place verdicts are made: measured checks of a family -> statuses -> verdicts.

A *family* is every statistical check of one compression spec in the session
(spec x suite x metric x limit key; exact checks of an identical pair are
decided by their value, are not statistics, and stay out). Two Holm step-down corrections run over it: one over
the ``p_holds`` p-values (a check is decided *pass* when its adjusted value is
``<= alpha``), one over ``p_broken`` (decided *fail*). So, whatever the mode,
the chance that a spec gets any false pass is ``<= alpha``, and the chance of
any false failure is ``<= alpha``. A check that neither shows is *inconclusive*.

A metric fails when any of its checks is decided fail, passes when all are
decided pass, and is otherwise inconclusive. The decision mode only says what
an inconclusive verdict does to the test: ``strict`` fails it, ``lenient``
passes it, ``point`` follows the point estimate. Every one is reported as
inconclusive, whatever the test outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from ..metrics.paired import holm
from .measure import ALPHA

DECISIONS = ("point", "strict", "lenient")
#: a baseline within this share of the range's ends is at its floor or ceiling
EDGE_SHARE = 0.05


@dataclass(frozen=True)
class Verdict:
    """Outcome of one metric's gate.

    Attributes:
        status: ``pass`` / ``fail`` (decided at the family's error rates), ``inconclusive``
            (the data cannot tell), or ``ungated`` (no limit applies).
        passed: the test outcome: the status, with ``inconclusive`` resolved by the decision mode.
        reasons: one line per check, with its p-values, resolution and cases to decide.
        flags: what limits the reading of the baseline (at its chance level, floor or ceiling).
        suspicious_gain: the compressed model beat the baseline by more than max_drop.
        gain_fails: that gain fails the gate (``compress_on_gain = fail``), not just warns.
    """

    status: str
    passed: bool = True
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    suspicious_gain: bool = False
    gain_fails: bool = False

    @property
    def decided(self) -> bool:
        return self.status in ("pass", "fail")


def baseline_flags(values, *, binary: bool, chance: float | None, low: float, high: float) -> tuple[str, ...]:
    """Flags for a baseline whose score cannot show much: near chance, or at the range's ends."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return ()
    mean, width, flags = float(v.mean()), high - low, []
    if np.isfinite(width) and mean <= low + EDGE_SHARE * width:
        flags.append(f"baseline at its floor ({mean:.3f}), where the metric can move only one way")
    elif np.isfinite(width) and mean >= high - EDGE_SHARE * width:
        flags.append(f"baseline at its ceiling ({mean:.3f}), where the metric can move only one way")
    if chance is not None:
        if binary:
            ci = stats.binomtest(int(v.sum()), v.size).proportion_ci(method="wilson")
            lo, hi = ci.low, ci.high
        else:
            half = 1.96 * (float(v.std(ddof=1)) if v.size > 1 else width) / np.sqrt(v.size)
            lo, hi = mean - half, mean + half
        if lo <= chance <= hi:
            flags.append(f"baseline indistinguishable from chance {chance:g} ({mean:.3f})")
    return tuple(flags)


def metric_verdict(metric, checks, mode: str, fail_on_gain: bool) -> Verdict:
    """The verdict of one metric (a :class:`~pytest_compress.results.MetricResult`) from its decided checks."""
    if mode not in DECISIONS:
        raise ValueError(f"unknown decision mode {mode!r}; use one of {DECISIONS}")
    if not checks:
        return Verdict("ungated", True, (), metric.flags)
    statuses = [c.status for c in checks]
    status = "fail" if "fail" in statuses else "pass" if all(s == "pass" for s in statuses) else "inconclusive"
    reasons = [c.reason() for c in checks]
    if not any(c.n for c in checks):
        reasons.insert(0, f"no case defines {metric.name} on both models")
    passed = status == "pass"
    if status == "inconclusive":
        passed = {"strict": False, "lenient": True}.get(mode, all(c.point_holds for c in checks))
        how = "by its point estimate" if mode == "point" else "as the mode says"
        reasons.append(f"inconclusive, counted as a {'pass' if passed else 'failure'} {how} (decision={mode})")
    gain = metric.limit.max_drop is not None and -metric.drop > metric.limit.max_drop
    gain_fails = gain and fail_on_gain
    if gain_fails:
        reasons.append(f"gain {-metric.drop:+.3f} > max_drop {metric.limit.max_drop:g}: fails (compress_on_gain = fail)")
        passed = False
    return Verdict(status, passed, tuple(reasons), metric.flags, gain, gain_fails)


def family_statuses(checks, alpha: float = ALPHA) -> list[tuple[str, float, float]]:
    """``(status, adjusted p_holds, adjusted p_broken)`` for each measured, non-exact check of
    one family: Holm over each side, pass / fail at ``alpha``, else inconclusive."""
    holds, broken = holm([c.p_holds for c in checks]), holm([c.p_broken for c in checks])
    return [("fail" if b <= alpha else "pass" if h <= alpha else "inconclusive", h, b)
            for h, b in zip(holds, broken)]


def decide(results, *, alpha: float = ALPHA, fail_on_gain: bool = False) -> list:
    """Decide every check of ``results`` (PairedResult, measured) as families per spec; each
    result keeps its own decision mode. Returns the results with checks and verdicts set."""
    family: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for ri, r in enumerate(results):
        for name, m in r.metrics.items():
            family[r.spec] += [(ri, name, ci) for ci, ch in enumerate(m.checks) if not ch.exact]
    adjusted = {}
    for members in family.values():
        statuses = family_statuses([results[ri].metrics[name].checks[ci] for ri, name, ci in members], alpha)
        adjusted.update({key: (*s, len(members)) for key, s in zip(members, statuses)})
    out = []
    for ri, r in enumerate(results):
        metrics = {}
        for name, m in r.metrics.items():
            checks = []
            for ci, ch in enumerate(m.checks):
                if ch.exact:
                    checks.append(ch.decided("pass" if ch.point_holds else "fail", ch.p_holds, ch.p_broken, 0))
                    continue
                status, h, b, size = adjusted[(ri, name, ci)]
                checks.append(ch.decided(status, h, b, size))
            metrics[name] = replace(m, checks=tuple(checks),
                                    verdict=metric_verdict(m, checks, r.decision, fail_on_gain))
        out.append(replace(r, metrics=metrics, family=len(family.get(r.spec, ()))))
    return out
