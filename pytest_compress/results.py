"""Paired results: what a suite measured on the baseline and the compressed model.

``task_result`` in a user's test is a :class:`PairedResult`::

    task_result.baseline.score, task_result.compressed.score   # the primary metric
    task_result.drop, task_result.interval, task_result.passed
    task_result.metrics["retrieve"].drop                       # any metric, same fields
    task_result.cases[0].baseline["retrieve"]                  # per-case outcomes
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .gate import Verdict, judge
from .limits import Limit


@dataclass(frozen=True)
class ModelScore:
    """One model's aggregate score on a metric, with its per-case values."""

    score: float
    per_case: tuple[float, ...] = field(repr=False, default=())


@dataclass(frozen=True)
class MetricResult:
    """One metric, paired: baseline, compressed, drop (positive = worse) and verdict."""

    name: str
    suite: str
    higher_is_better: bool
    baseline: ModelScore
    compressed: ModelScore
    drop: float
    rel_drop: float | None
    interval: tuple[float, float]
    interval_method: str
    limit: Limit
    verdict: Verdict
    limit_sources: dict = field(default_factory=dict, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.suite}.{self.name}"

    def with_sequential(self, status: str, used: int, plan) -> "MetricResult":
        """This result with the group-sequential procedure's verdict (its error rate
        holds; the interval shown is the plain one at the stopping look)."""
        looks = f"looks {', '.join(map(str, plan.looks))}, one-sided alpha {plan.alpha:.3g}"
        if status == "continue":  # stopped because another metric of the gate failed
            reason = f"sequential: undecided when the gate stopped at {used} of {plan.n_max} cases ({looks})"
            verdict = replace(self.verdict, reasons=(*self.verdict.reasons, reason))
        else:
            reason = f"sequential {status}: decided on {used} of {plan.n_max} cases ({looks})"
            verdict = replace(self.verdict, status="fail" if self.verdict.gain_fails else status,
                              reasons=(*self.verdict.reasons, reason), fragile=False, settle_n=None)
        return replace(self, verdict=verdict)

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def to_dict(self) -> dict:
        return {
            "metric": self.full_name,
            "higher_is_better": self.higher_is_better,
            "baseline": self.baseline.score,
            "compressed": self.compressed.score,
            "drop": self.drop,
            "rel_drop": self.rel_drop,
            "interval": list(self.interval),
            "interval_method": self.interval_method,
            "limit": {k: v for k, v in vars(self.limit).items() if v is not None},
            "verdict": self.verdict.status,
            "reasons": list(self.verdict.reasons),
            "fragile": self.verdict.fragile,
            "settle_n": self.verdict.settle_n,
            "suspicious_gain": self.verdict.suspicious_gain,
        }


@dataclass(frozen=True)
class CaseOutcome:
    """One case's metric values on both models."""

    id: str
    baseline: dict
    compressed: dict


@dataclass(frozen=True)
class PairedResult:
    """A suite's paired result for one compression spec (see module docstring)."""

    suite: str
    spec: str
    params: dict
    metrics: dict[str, MetricResult]
    primary: str
    cases: tuple[CaseOutcome, ...] = field(repr=False, default=())
    decision: str = "point"
    baseline_cached: bool = False
    compressed_cached: bool = False
    #: cases the gate would run without early stopping (``len(cases)`` when it ran them all)
    planned_cases: int = 0
    #: size of the Holm family this result was judged in (0: not adjusted)
    holm_checks: int = 0

    @property
    def primary_metric(self) -> MetricResult:
        return self.metrics[self.primary]

    @property
    def baseline(self) -> ModelScore:
        return self.primary_metric.baseline

    @property
    def compressed(self) -> ModelScore:
        return self.primary_metric.compressed

    @property
    def drop(self) -> float:
        return self.primary_metric.drop

    @property
    def interval(self) -> tuple[float, float]:
        return self.primary_metric.interval

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.metrics.values())

    @property
    def failures(self) -> list[MetricResult]:
        return [m for m in self.metrics.values() if not m.passed]

    @property
    def n(self) -> int:
        return len(self.cases)

    def failure_message(self) -> str:
        """The failing test's message: suite, metric, baseline, compressed, drop and limit."""
        lines = [f"compression gate failed: {self.suite} [{self.spec}] ({self.n} cases, decision={self.decision})"]
        for m in self.failures:
            lines.append(
                f"  {m.full_name}: baseline {m.baseline.score:.3f} -> compressed {m.compressed.score:.3f}, "
                f"drop {m.drop:+.3f} (95% CI {m.interval[0]:+.3f} .. {m.interval[1]:+.3f}), limit {m.limit}"
            )
            lines.extend(f"    {r}" for r in m.verdict.reasons)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "suite": self.suite,
            "spec": self.spec,
            "params": self.params,
            "n": self.n,
            "planned_cases": self.planned_cases or self.n,
            "decision": self.decision,
            "passed": self.passed,
            "primary": self.primary,
            "baseline_cached": self.baseline_cached,
            "compressed_cached": self.compressed_cached,
            "metrics": [m.to_dict() for m in self.metrics.values()],
        }


def pair_metric(suite, metric, base_values, comp_values, limit: Limit, sources: dict, mode: str, seed: int,
                fail_on_gain: bool = False) -> MetricResult:
    """Compare one metric's per-case values (NaN cases are dropped pairwise) and judge it."""
    from .metrics.paired import cases_to_settle, estimate_drop

    b = np.asarray(base_values, dtype=float)
    c = np.asarray(comp_values, dtype=float)
    keep = np.isfinite(b) & np.isfinite(c)
    b, c = b[keep], c[keep]
    hib = metric.higher_is_better
    if b.size == 0:  # e.g. a refusal-conditioned metric no case reached: nothing to judge
        nan = float("nan")
        return MetricResult(
            name=metric.name, suite=suite.name, higher_is_better=hib, baseline=ModelScore(nan), compressed=ModelScore(nan),
            drop=nan, rel_drop=None, interval=(nan, nan), interval_method="none", limit=limit,
            verdict=Verdict("ungated", (f"no case defines {metric.name} on both models",)), limit_sources=sources,
        )
    est = estimate_drop(b, c, higher_is_better=hib, binary=metric.binary, seed=seed)
    comp_est = estimate_drop(c, np.zeros_like(c), higher_is_better=True, binary=metric.binary, seed=seed)
    base_score, comp_score = float(b.mean()), float(c.mean())
    rel = est.drop / abs(base_score) if base_score else None
    verdict = judge(
        baseline=base_score,
        compressed=comp_score,
        drop=est.drop,
        interval=(est.low, est.high),
        comp_interval=(comp_est.low, comp_est.high),
        limit=limit,
        mode=mode,
        settle=lambda bound: cases_to_settle(est, bound),
        fail_on_gain=fail_on_gain,
    )
    return MetricResult(
        name=metric.name,
        suite=suite.name,
        higher_is_better=hib,
        baseline=ModelScore(base_score, tuple(b.tolist())),
        compressed=ModelScore(comp_score, tuple(c.tolist())),
        drop=est.drop,
        rel_drop=rel,
        interval=(est.low, est.high),
        interval_method=est.method,
        limit=limit,
        verdict=verdict,
        limit_sources=sources,
    )


#: one-sided error rate of each statistical check: that of the two-sided 95% interval
ONE_SIDED_ALPHA = 0.025


def _check_p_values(m: MetricResult, mode: str, seed: int) -> list[tuple[str, float]]:
    """One-sided p-value per limit key of ``m``: strict tests H0 "the limit is broken"
    (a small p shows the limit holds), lenient tests H0 "the limit holds"."""
    from .metrics.paired import inferiority_p, noninferiority_p

    test = noninferiority_p if mode == "strict" else inferiority_p
    b, c = np.asarray(m.baseline.per_case, float), np.asarray(m.compressed.per_case, float)
    zeros = np.zeros_like(c)
    binary = m.interval_method == "tango-score"
    hib, lim, out = m.higher_is_better, m.limit, []
    out += [(label, test(b, c, bound, higher_is_better=direction, binary=binary, seed=seed))
            for label, bound, direction in lim.drop_checks(hib)]
    if lim.max_rel_drop is not None and m.baseline.score:
        bound = lim.max_rel_drop * abs(m.baseline.score)
        out.append(("max_rel_drop", test(b, c, bound, higher_is_better=hib, binary=binary, seed=seed)))
    # Score bounds as drops from zero: -score <= -min, and score <= max.
    if lim.min is not None:
        out.append(("min", test(zeros, c, -lim.min, higher_is_better=True, binary=False, seed=seed)))
    if lim.max is not None:
        out.append(("max", test(zeros, c, lim.max, higher_is_better=False, binary=False, seed=seed)))
    return out


def apply_holm(results: list[PairedResult], seed: int = 0, alpha: float = ONE_SIDED_ALPHA) -> list[PairedResult]:
    """Re-decide every statistical check of ``results`` with Holm's step-down across all of them.

    Point-mode results and sequentially decided metrics are returned unchanged. A
    strict metric passes when every one of its checks is significant after
    adjustment; a lenient one fails when any is. Family-wise, the chance of one
    false pass (strict) or one false failure (lenient) in the session stays <= alpha.
    """
    from .metrics.paired import holm

    checks = []  # (result index, metric name, key, p)
    for ri, r in enumerate(results):
        if r.decision == "point":
            continue
        for m in r.metrics.values():
            if m.limit.is_empty or any(x.startswith("sequential") for x in m.verdict.reasons):
                continue
            checks += [(ri, m.name, key, p) for key, p in _check_p_values(m, r.decision, seed)]
    adjusted = holm([p for *_, p in checks])
    by_metric: dict[tuple[int, str], list[tuple[str, float, float]]] = {}
    for (ri, name, key, p), adj in zip(checks, adjusted):
        by_metric.setdefault((ri, name), []).append((key, p, adj))
    out = list(results)
    for (ri, name), rows in by_metric.items():
        r = out[ri]
        m = r.metrics[name]
        significant = [adj <= alpha for _, _, adj in rows]
        status = ("pass" if all(significant) else "fail") if r.decision == "strict" else (
            "fail" if any(significant) else "pass")
        if m.verdict.gain_fails:  # a configured failure on a gain stands whatever the test says
            status = "fail"
        notes = tuple(f"{key}: p {p:.3g}, Holm-adjusted {adj:.3g} over {len(checks)} checks "
                      f"({'<=' if adj <= alpha else '>'} {alpha:g})" for key, p, adj in rows)
        verdict = replace(m.verdict, status=status, reasons=(*m.verdict.reasons, *notes))
        out[ri] = replace(r, metrics={**r.metrics, name: replace(m, verdict=verdict)}, holm_checks=len(checks))
    return out
