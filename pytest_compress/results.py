"""Paired results: what a suite measured on the baseline and the compressed model.

``task_result`` in a user's test is a :class:`PairedResult`::

    task_result.baseline.score, task_result.compressed.score   # the primary metric
    task_result.drop, task_result.interval, task_result.passed
    task_result.metrics["retrieve"].drop                       # any metric, same fields
    task_result.cases[0].baseline["retrieve"]                  # per-case outcomes
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gate import CheckResult, Verdict
from .limits import Limit


@dataclass(frozen=True)
class ModelScore:
    """One model's aggregate score on a metric, with its per-case values."""

    score: float
    per_case: tuple[float, ...] = field(repr=False, default=())


@dataclass(frozen=True)
class MetricResult:
    """One metric, paired: baseline, compressed, drop (positive = worse), checks and verdict.

    ``checks`` holds one :class:`~pytest_compress.gate.CheckResult` per one-sided check its
    limit makes; ``verdict`` is None until the gate has decided them.
    """

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
    verdict: Verdict | None = None
    limit_sources: dict = field(default_factory=dict, repr=False)
    checks: tuple[CheckResult, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.suite}.{self.name}"

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def n(self) -> int:
        return len(self.baseline.per_case)

    def to_dict(self) -> dict:
        decisive = [c for c in self.checks if not c.exact]
        return {
            "metric": self.full_name,
            "higher_is_better": self.higher_is_better,
            "baseline": self.baseline.score,
            "compressed": self.compressed.score,
            "drop": self.drop,
            "rel_drop": self.rel_drop,
            "n": self.n,
            "interval": list(self.interval),
            "interval_method": self.interval_method,
            "limit": {k: v for k, v in vars(self.limit).items() if v is not None},
            "verdict": self.verdict.status,
            "passed": self.verdict.passed,
            "reasons": list(self.verdict.reasons),
            "flags": list(self.verdict.flags),
            "resolution": max((c.resolution for c in decisive), default=None),
            "n_to_decide": max((c.n_to_decide for c in decisive if c.status == "inconclusive"
                                and c.n_to_decide is not None), default=None),
            "checks": [c.to_dict() for c in self.checks],
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
    #: the most cases the gate may draw (its cap); it stops earlier once every check is settled
    planned_cases: int = 0
    #: why drawing cases stopped: "settled", "failed" (a check was decided fail) or "cap"
    stopped: str = "cap"
    #: statistical checks of this spec judged together (the Holm family); 0 before the gate decided
    family: int = 0

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
    def inconclusive(self) -> list[MetricResult]:
        return [m for m in self.metrics.values() if m.verdict.status == "inconclusive"]

    @property
    def failures(self) -> list[MetricResult]:
        return [m for m in self.metrics.values() if not m.passed]

    @property
    def n(self) -> int:
        return len(self.cases)

    def failure_message(self) -> str:
        """The failing test's message: suite, metric, baseline, compressed, drop and limit."""
        lines = [f"compression gate failed: {self.suite} [{self.spec}] ({self.n} of at most "
                 f"{self.planned_cases or self.n} cases, decision={self.decision})"]
        for m in self.failures:
            status = "inconclusive" if m.verdict.status == "inconclusive" else "failed"
            lines.append(
                f"  {m.full_name} {status}: baseline {m.baseline.score:.3f} -> compressed {m.compressed.score:.3f}, "
                f"drop {m.drop:+.3f} (95% CI {m.interval[0]:+.3f} .. {m.interval[1]:+.3f}), limit {m.limit}"
            )
            lines.extend(f"    {r}" for r in m.verdict.reasons)
            lines.extend(f"    note: {f}" for f in m.verdict.flags)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "suite": self.suite,
            "spec": self.spec,
            "params": self.params,
            "n": self.n,
            "planned_cases": self.planned_cases or self.n,
            "stopped": self.stopped,
            "family": self.family,
            "decision": self.decision,
            "passed": self.passed,
            "primary": self.primary,
            "baseline_cached": self.baseline_cached,
            "compressed_cached": self.compressed_cached,
            "metrics": [m.to_dict() for m in self.metrics.values()],
        }


def pair_metric(suite, metric, base_values, comp_values, limit: Limit, sources: dict, seed: int, *,
                identical: bool = False, final: bool = False, family: int = 1) -> MetricResult:
    """Pair one metric's per-case values (NaN cases are dropped pairwise) and measure its checks
    (undecided: :func:`pytest_compress.gate.decide` judges them with the rest of the family)."""
    # ``identical``: the two sides are one model. Checks on the difference are then exact, and so
    # is every check of a suite that scores the compressed side against the baseline.
    from .gate import baseline_flags, checks_for, measure_check
    from .metrics.paired import estimate_drop

    b = np.asarray(base_values, dtype=float)
    c = np.asarray(comp_values, dtype=float)
    keep = np.isfinite(b) & np.isfinite(c)
    one_sided = int(np.sum(np.isfinite(b) != np.isfinite(c)))  # defined on one model only: left out, and said
    b, c = b[keep], c[keep]
    hib = metric.higher_is_better
    both = np.r_[b, c]
    outside = (both < metric.low) | (both > metric.high)
    if not limit.is_empty and np.any(outside):  # a gated metric's tests lean on its range
        from .errors import CompressError

        value = float(both[outside][0])
        raise CompressError(
            f"{suite.name}.{metric.name}: a case's value {value:g} lies outside the metric's declared range "
            f"[{metric.low:g}, {metric.high:g}]; the gate's tests rely on it. Fix the suite's scoring, or "
            "declare the range the metric really has (Metric(low=..., high=...)).")
    checks = tuple(
        measure_check(check, b, c, higher_is_better=hib, low=metric.low, high=metric.high, binary=metric.binary,
                      exact=identical and (check.on_drop or suite.needs_reference), final=final, family=family,
                      seed=seed)
        for check in checks_for(metric.name, limit))
    if b.size == 0:  # e.g. a refusal-conditioned metric no case reached
        nan = float("nan")
        return MetricResult(metric.name, suite.name, hib, ModelScore(nan), ModelScore(nan), nan, None, (nan, nan),
                            "none", limit, limit_sources=sources, checks=checks)
    est = estimate_drop(b, c, higher_is_better=hib, binary=metric.binary, seed=seed, identical=identical,
                        width=metric.high - metric.low)
    base_score, comp_score = float(b.mean()), float(c.mean())
    flags = baseline_flags(b, binary=metric.binary, chance=suite.chance_of(metric), low=metric.low, high=metric.high)
    if one_sided and not limit.is_empty:
        flags += (f"{one_sided} case{'s' if one_sided > 1 else ''} scored on one model only (undefined on the "
                  "other, e.g. refused there) left out of the pairing",)
    return MetricResult(
        name=metric.name, suite=suite.name, higher_is_better=hib,
        baseline=ModelScore(base_score, tuple(b.tolist())), compressed=ModelScore(comp_score, tuple(c.tolist())),
        drop=est.drop, rel_drop=est.drop / abs(base_score) if base_score else None,
        interval=(est.low, est.high), interval_method=est.method, limit=limit, limit_sources=sources,
        # a suite scored against the baseline has identity values on the baseline side: nothing to flag
        checks=checks, flags=flags if checks and not suite.needs_reference else (),
    )
