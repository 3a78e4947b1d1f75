"""Evidence per check and the sequential procedure (pytest_compress.gate.measure)."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_compress.gate import ALPHA, Check, batch_ends, family_statuses, measure_check, replay_gate, stop_reason

DROP = Check("m", "max_drop", 0.10)


def _pairs(rng, n, p_lose, p_win, p_base=0.6):
    b = (rng.random(n) < p_base).astype(float)
    c = b.copy()
    u = rng.random(n)
    lose, win = u < p_lose, (u >= p_lose) & (u < p_lose + p_win)
    b[lose], c[lose], b[win], c[win] = 1.0, 0.0, 0.0, 1.0
    return b, c


def _decided(rng, reps, cap, make, check=DROP, binary=True, family=1):
    """Share of simulated gates decided pass and decided fail, run as the runner runs them."""
    passes = fails = 0
    for _ in range(reps):
        b, c = make(rng, cap)
        measured, _, _ = replay_gate([([check], b, c, True, 0.0, 1.0, binary)], cap, family)
        status = family_statuses(measured)[0][0]
        passes += status == "pass"
        fails += status == "fail"
    return passes / reps, fails / reps


def test_agreeing_cases_are_evidence_not_proof():
    # issue 14, error 1: 18 cases with no disagreement passed strict outright (p = 0)
    ones = np.ones(18)
    r = measure_check(DROP, ones, ones, higher_is_better=True, low=0, high=1, binary=True, final=True)
    assert not r.exact and r.p_holds > ALPHA
    exact = measure_check(DROP, ones, ones, higher_is_better=True, low=0, high=1, binary=True, exact=True)
    assert exact.exact and exact.p_holds == 0 and exact.settled(ALPHA, 40)
    # enough agreeing cases do show it, at a 35-check family's level
    many = np.ones(150)
    r = measure_check(DROP, many, many, higher_is_better=True, low=0, high=1, binary=True, family=35)
    assert r.settled(ALPHA, 35) and r.p_holds <= ALPHA / 35


@pytest.mark.parametrize("cap", [18, 30, 48])
@pytest.mark.parametrize("p_lose,p_win", [(0.10, 0.0), (0.15, 0.05)])
def test_false_pass_at_the_limit_binary(cap, p_lose, p_win):
    # The true drop equals the limit: a decided pass is a false pass. Was 15% at n=18 (nominal 2.5%).
    # 4000 gates: MC s.e. of a 2.5% rate 0.25%.
    rate, _ = _decided(np.random.default_rng(cap), 4000, cap, lambda rng, n: _pairs(rng, n, p_lose, p_win))
    assert rate <= ALPHA + 0.008


@pytest.mark.parametrize("cap", [18, 30, 48])
def test_false_pass_at_the_limit_zero_inflated_continuous(cap):
    # issue 14, error 2: a mean/SE z on looks of a few cases passed 47% / 28% / 17% of these at n = 18/30/48.
    def make(rng, n):
        b = rng.uniform(0.5, 1.0, n)
        hit = rng.random(n) < 0.2  # 80% of cases unchanged; the rest lose up to 2/3 of their value
        return b, np.where(hit, b * (1 - rng.uniform(0.0, 2 / 3, n)), b)

    rng = np.random.default_rng(100 + cap)
    # calibrate: the true mean drop of this generator, then put the limit exactly there
    b, c = make(np.random.default_rng(0), 400_000)
    check = Check("m", "max_drop", float(np.mean(b - c)))
    rate, _ = _decided(rng, 3000, cap, make, check=check, binary=False)
    assert rate <= ALPHA + 0.01


def test_decided_fail_keeps_its_error_rate_and_a_clear_drop_fails():
    no_drop = lambda rng, n: _pairs(rng, n, 0.10, 0.10)  # noqa: E731
    _, false_fail = _decided(np.random.default_rng(5), 2000, 200, no_drop)
    assert false_fail <= ALPHA  # drop 0 vs limit 0.1: a decided fail is false
    big = lambda rng, n: _pairs(rng, n, 0.35, 0.05)  # noqa: E731  (drop 0.30)
    _, power = _decided(np.random.default_rng(6), 300, 200, big)
    assert power >= 0.95


def test_stated_cases_to_decide_has_about_the_stated_power():
    # read n_to_decide from a small pilot, then run a gate capped there: ~80% decide pass
    rng = np.random.default_rng(7)
    b, c = _pairs(rng, 48, 0.1, 0.1)
    pilot = measure_check(DROP, b, c, higher_is_better=True, low=0, high=1, binary=True, final=True)
    assert pilot.status == "undecided" and pilot.n_to_decide > 48
    passes, _ = _decided(rng, 300, pilot.n_to_decide, lambda rng, n: _pairs(rng, n, 0.1, 0.1))
    assert 0.65 <= passes <= 0.97


def test_no_case_defined_is_inconclusive_not_an_error():
    # issue 14, error 4: a gated metric with no case defined on both models raised ValueError
    r = measure_check(DROP, np.array([]), np.array([]), higher_is_better=True, low=0, high=1, binary=True)
    assert r.n == 0 and r.p_holds == r.p_broken == 1.0
    assert family_statuses([r])[0][0] == "inconclusive"


def test_schedule_and_stopping_rule():
    assert batch_ends(10) == [10]
    assert batch_ends(18) == [16, 18]
    assert batch_ends(200) == [16, 32, 48, 72, 108, 162, 200]
    ends = batch_ends(5000)
    assert ends[-1] == 5000 and all(b > a for a, b in zip(ends, ends[1:]))
    ones = np.ones(150)
    settled = measure_check(DROP, ones, ones, higher_is_better=True, low=0, high=1, binary=True, family=2)
    broken = measure_check(DROP, ones, np.zeros(150), higher_is_better=True, low=0, high=1, binary=True)
    open_ = measure_check(DROP, ones[:16], ones[:16], higher_is_better=True, low=0, high=1, binary=True)
    assert stop_reason([settled], 2) == "settled"
    assert stop_reason([settled, broken], 2) == "failed"
    assert stop_reason([settled, open_], 2) is None
    assert stop_reason([], 2) is None  # ungated metrics are reported on every case


def test_unbounded_metric_is_tested_once_all_cases_are_in():
    rng = np.random.default_rng(8)
    b, c = rng.exponential(1.0, 64), rng.exponential(1.0, 64) + 2.0
    check = Check("kl", "max", 1.0)
    early = measure_check(check, b, c, higher_is_better=False, low=0, high=float("inf"), binary=False)
    final = measure_check(check, b, c, higher_is_better=False, low=0, high=float("inf"), binary=False, final=True)
    assert early.p_broken == 1.0 and final.p_broken < 1e-3


def test_cases_to_decide_never_promises_less_than_agreeing_cases_can_show():
    # without the floor, 18 agreeing cases were stated to need 19; with it, the stated n is exactly
    # where a run of agreeing cases first decides at a 42-check family's level
    zeros = np.zeros(18)
    stated = measure_check(DROP, zeros, zeros, higher_is_better=True, low=0, high=1, binary=True, family=42)
    n = stated.n_to_decide
    assert n == 99  # the README's figure

    def decided(k):
        z = np.zeros(k)
        r = measure_check(DROP, z, z, higher_is_better=True, low=0, high=1, binary=True, final=True, family=42)
        return r.p_holds <= ALPHA / 42

    assert decided(n) and not decided(n - 1)
    assert stated.resolution > DROP.bound  # 18 agreeing cases cannot decide a 0.10 limit at all
