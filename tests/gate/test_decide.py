"""One family-wise decision per spec, and what each mode does with an inconclusive check."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_compress.gate import ALPHA, baseline_flags, decide
from pytest_compress.limits import Limit
from pytest_compress.results import PairedResult, pair_metric
from pytest_compress.suites.base import Metric


class _Suite:
    name = "s"
    needs_reference = False

    @staticmethod
    def chance_of(metric):
        return metric.chance


def _result(spec, values: dict, limits: dict, decision="lenient", metrics=None, final=True, family=None):
    metrics = metrics or {name: Metric(name) for name in values}
    family = family or sum(1 for lim in limits.values() for _ in [lim] if not lim.is_empty)
    paired = {name: pair_metric(_Suite, metrics[name], b, c, limits.get(name, Limit()), {}, 0, final=final,
                                family=family)
              for name, (b, c) in values.items()}
    return PairedResult("s", spec, {}, paired, next(iter(values)), decision=decision)


def _clear_pass(n=300):
    return np.ones(n), np.ones(n)


def _clear_fail(n=300):
    return np.ones(n), np.r_[np.zeros(n // 2), np.ones(n - n // 2)]


@pytest.mark.parametrize("mode,passed", [("lenient", True), ("strict", False), ("point", False)])
def test_inconclusive_is_reported_and_the_mode_says_what_it_does(mode, passed):
    # 3 losses in 20: the point estimate (0.15) breaks the limit, the data show nothing either way
    b, c = np.r_[np.ones(20)], np.r_[np.ones(17), np.zeros(3)]
    [r] = decide([_result("x", {"a": (b, c)}, {"a": Limit(max_drop=0.1)}, decision=mode)])
    v = r.metrics["a"].verdict
    assert v.status == "inconclusive" and v.passed is passed
    assert any("inconclusive" in reason for reason in v.reasons)
    assert r.inconclusive == [r.metrics["a"]]


def test_decided_verdicts_are_the_same_in_every_mode():
    for mode in ("lenient", "strict", "point"):
        [r] = decide([_result("x", {"a": _clear_pass(), "b": _clear_fail()},
                              {"a": Limit(max_drop=0.1), "b": Limit(max_drop=0.1)}, decision=mode)])
        assert (r.metrics["a"].verdict.status, r.metrics["b"].verdict.status) == ("pass", "fail")
        assert r.metrics["a"].passed and not r.metrics["b"].passed


def test_holm_runs_over_each_spec_in_every_mode():
    # issue 14, error 7: with --compress-sequential the session skipped Holm for every gate
    lim = {"a": Limit(max_drop=0.1)}
    results = [_result(spec, {"a": _clear_pass()}, lim, decision="point") for spec in ("x", "x", "y")]
    out = decide(results)
    assert [r.family for r in out] == [2, 2, 1]
    [x1, _, y] = out
    cx, cy = x1.metrics["a"].checks[0], y.metrics["a"].checks[0]
    assert cx.family == 2 and cx.p_holds_adjusted == pytest.approx(min(1, 2 * cx.p_holds))
    assert cy.p_holds_adjusted == pytest.approx(cy.p_holds)


def test_a_borderline_pass_in_a_large_family_is_inconclusive():
    b, c = _clear_pass(60)  # 60 agreeing cases: p(holds) about 0.01
    alone = decide([_result("x", {"a": (b, c)}, {"a": Limit(max_drop=0.1)})])[0]
    crowd = decide([_result("x", {"a": (b, c)}, {"a": Limit(max_drop=0.1)}) for _ in range(60)])[0]
    assert alone.metrics["a"].verdict.status == "pass"
    assert crowd.metrics["a"].verdict.status == "inconclusive"


def test_relative_limit_with_a_zero_baseline_is_judged_not_dropped():
    # issue 14, error 5: "relative drop undefined" failed, then Holm dropped the check and passed
    zeros = np.zeros(40)
    for mode in ("lenient", "strict", "point"):
        [r] = decide([_result("x", {"a": (zeros, zeros)}, {"a": Limit(max_drop=0.1, max_rel_drop=0.05)},
                              decision=mode)])
        keys = [c.check.key for c in r.metrics["a"].checks]
        assert keys == ["max_drop", "max_rel_drop"]
        rel = r.metrics["a"].checks[1]
        assert rel.status == "inconclusive"  # c >= 0.95 * 0 cannot be shown beyond doubt when c == 0
        assert r.metrics["a"].verdict.status == "inconclusive"


def test_no_case_defined_on_both_models_reports_instead_of_raising():
    # issue 14, error 4
    nan = np.full(10, np.nan)
    [r] = decide([_result("x", {"a": (nan, nan)}, {"a": Limit(max_drop=0.1)}, decision="strict")])
    v = r.metrics["a"].verdict
    assert v.status == "inconclusive" and not v.passed
    assert v.reasons[0] == "no case defines a on both models"


def test_identical_pair_passes_exactly_and_leaves_the_family():
    # issue 14, error 6: the none control failed strict sequential gates it could never pass
    b = np.r_[np.ones(10), np.zeros(8)]
    metrics = {"a": Metric("a"), "t": Metric("t", binary=False, low=-1.0)}
    values = {"a": (b, b), "t": (np.ones(18), np.full(18, 0.95))}
    r = _result("none", values, {"a": Limit(max_drop=0.1), "t": Limit(min=0.6)}, metrics=metrics)
    r.metrics["a"] = pair_metric(_Suite, metrics["a"], b, b, Limit(max_drop=0.1), {}, 0, identical=True)
    [out] = decide([r], alpha=ALPHA)
    check = out.metrics["a"].checks[0]
    assert check.exact and check.status == "pass" and out.metrics["a"].interval == (0.0, 0.0)
    assert out.family == 1  # only the score bound is a statistical check


def test_identity_settles_scores_measured_against_the_baseline():
    # tau is 1 on every case of an identical pair by construction: no statistics needed
    class Agreement(_Suite):
        needs_reference = True

    tau = Metric("tau", binary=False, low=-1.0)
    m = pair_metric(Agreement, tau, np.ones(24), np.ones(24), Limit(min=0.6), {}, 0, identical=True)
    [out] = decide([PairedResult("s", "none", {}, {"tau": m}, "tau")])
    assert out.metrics["tau"].checks[0].exact and out.metrics["tau"].verdict.status == "pass"
    high = pair_metric(Agreement, tau, np.ones(24), np.ones(24), Limit(min=1.5), {}, 0, identical=True)
    [out] = decide([PairedResult("s", "none", {}, {"tau": high}, "tau")])
    assert out.metrics["tau"].verdict.status == "fail"  # a bound the identity itself breaks


def test_gain_beyond_the_limit_is_flagged_and_can_fail():
    b, c = np.r_[np.zeros(150), np.ones(150)], np.ones(300)
    [warn] = decide([_result("x", {"a": (b, c)}, {"a": Limit(max_drop=0.1)})])
    [fail] = decide([_result("x", {"a": (b, c)}, {"a": Limit(max_drop=0.1)})], fail_on_gain=True)
    assert warn.metrics["a"].verdict.suspicious_gain and warn.passed
    assert not fail.passed and "compress_on_gain = fail" in fail.metrics["a"].verdict.reasons[-1]


def test_baseline_flags():
    coin = np.r_[np.ones(24), np.zeros(24)]
    assert any("chance 0.5" in f for f in baseline_flags(coin, binary=True, chance=0.5, low=0, high=1))
    assert baseline_flags(np.r_[np.ones(40), np.zeros(8)], binary=True, chance=0.5, low=0, high=1) == ()
    assert "floor" in baseline_flags(np.zeros(30), binary=True, chance=None, low=0, high=1)[0]
    assert "ceiling" in baseline_flags(np.ones(30), binary=True, chance=None, low=0, high=1)[0]
    assert baseline_flags(np.r_[0.4, 0.6, 0.5], binary=False, chance=None, low=0, high=1) == ()


def test_a_value_outside_the_declared_range_is_a_clear_error():
    from pytest_compress.errors import CompressError

    with pytest.raises(CompressError, match=r"s\.a: a case's value 1\.5 lies outside .*\[0, 1\]"):
        pair_metric(_Suite, Metric("a", binary=False), [0.5, 1.5], [0.5, 0.5], Limit(max_drop=0.1), {}, 0)


def test_cases_scored_on_one_model_only_are_counted_not_dropped_silently():
    nan = float("nan")
    b = [1, 0, 1, nan, 1, nan] * 10
    c = [1, 0, nan, 1, 1, nan] * 10  # 20 one-sided cases, 10 undefined on both
    gated = pair_metric(_Suite, Metric("a"), b, c, Limit(max_drop=0.1), {}, 0)
    assert gated.n == 30
    assert "20 cases scored on one model only (undefined on the other, e.g. refused there) left out of the pairing" \
        in gated.flags
    assert not any("one model only" in f for f in pair_metric(_Suite, Metric("a"), b, c, Limit(), {}, 0).flags)
