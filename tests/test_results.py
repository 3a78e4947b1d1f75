"""Holm's correction across a session's statistical gates."""

from types import SimpleNamespace

import numpy as np

from pytest_compress.limits import Limit
from pytest_compress.results import PairedResult, apply_holm, pair_metric
from pytest_compress.suites.base import Metric

SUITE = SimpleNamespace(name="demo")
METRIC = Metric("score", binary=False)


def gate(drop: float, mode: str, seed: int, n: int = 60, limit: Limit = Limit(max_drop=0.05)) -> PairedResult:
    rng = np.random.default_rng(seed)
    base = rng.normal(0.7, 0.1, n)
    comp = base - drop + rng.normal(0, 0.1, n)
    m = pair_metric(SUITE, METRIC, base, comp, limit, {}, mode, seed)
    return PairedResult("demo", f"s{seed}", {}, {"score": m}, "score", decision=mode)


def test_lenient_borderline_failure_is_withdrawn_in_a_large_family():
    # alone, a drop just past the limit is shown (lower bound > limit) ...
    borderline = gate(0.08, "lenient", seed=3)
    assert not borderline.passed
    alone = apply_holm([borderline])[0]
    assert not alone.passed and alone.holm_checks == 1
    # ... among 20 gates the same evidence no longer clears alpha/20
    family = apply_holm([borderline] + [gate(0.0, "lenient", seed=s) for s in range(10, 29)])
    assert family[0].passed
    assert family[0].holm_checks == 20
    assert "Holm-adjusted" in family[0].metrics["score"].verdict.reasons[-1]


def test_clear_regressions_and_point_mode_are_unchanged():
    clear = gate(0.4, "lenient", seed=1)
    point = gate(0.4, "point", seed=2)
    out = apply_holm([clear, point] + [gate(0.0, "lenient", seed=s) for s in range(10, 20)])
    assert not out[0].passed
    assert out[1] is point


def test_strict_needs_every_check_significant_after_adjustment():
    out = apply_holm([gate(0.0, "strict", seed=s, n=400) for s in range(5)])
    assert all(r.passed for r in out)
    tight = apply_holm([gate(0.04, "strict", seed=s) for s in range(5)])
    assert not any(r.passed for r in tight)


def test_max_change_is_two_checks_failing_either_way():
    both_ways = Limit(max_change=0.05)
    rise, fall = gate(-0.4, "lenient", seed=1, limit=both_ways), gate(0.4, "lenient", seed=2, limit=both_ways)
    out = apply_holm([rise, fall, gate(0.0, "lenient", seed=3, limit=both_ways)])
    assert [r.passed for r in out] == [False, False, True]
    assert out[0].holm_checks == 6  # a fall check and a rise check per gate
    reasons = out[0].metrics["score"].verdict.reasons
    assert any(r.startswith("max_change (rise)") for r in reasons)
    # strict: equivalence shown only when both one-sided checks are significant
    assert apply_holm([gate(0.0, "strict", seed=4, n=400, limit=both_ways)])[0].passed
    assert not apply_holm([gate(0.04, "strict", seed=4, n=400, limit=both_ways)])[0].passed
