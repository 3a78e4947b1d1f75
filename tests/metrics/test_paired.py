"""Tests for pytest_compress.metrics.paired (fixed seeds throughout)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from pytest_compress.metrics import paired as P


def _binary_pairs(rng, n, p_lose, p_win):
    """0/1 outcomes: baseline-only correct w.p. p_lose, compressed-only w.p. p_win."""
    u = rng.random(n)
    base = (rng.random(n) < 0.5).astype(float)  # concordant cases: both 0 or both 1
    comp = base.copy()
    lose, win = u < p_lose, (u >= p_lose) & (u < p_lose + p_win)
    base[lose], comp[lose] = 1.0, 0.0
    base[win], comp[win] = 0.0, 1.0
    return base, comp


def _trinomial(n, p_lose, p_win):
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = b + c <= n
    b, c = b[ok], c[ok]
    pr = np.exp(stats.multinomial.logpmf(np.stack([b, c, n - b - c], 1), n, [p_lose, p_win, 1 - p_lose - p_win]))
    return b, c, pr


# -------------------------------------------------------------- basics


def test_direction_identical_and_validation():
    base, comp = np.array([0.9, 0.8, 0.7, 0.6]), np.array([0.8, 0.8, 0.5, 0.7])
    assert P.estimate_drop(base, comp).drop == pytest.approx(0.05)
    assert P.estimate_drop(base, comp, higher_is_better=False).drop == pytest.approx(-0.05)
    same = P.estimate_drop([1, 0, 1], [1, 0, 1])
    assert (same.drop, same.low, same.high, same.method, same.n) == (0.0, 0.0, 0.0, "identical", 3)
    const = P.estimate_drop([0.5, 0.7], [0.4, 0.6])
    assert const.low == const.high == pytest.approx(0.1)
    for bad in (([1, 2], [1]), ([], []), ([np.nan], [1.0])):
        with pytest.raises(ValueError):
            P.estimate_drop(*bad)
    with pytest.raises(ValueError):
        P.estimate_drop([0.5], [1.0], binary=True)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(0)
    b, c = rng.random(50), rng.random(50)
    e1, e2 = P.estimate_drop(b, c, seed=3), P.estimate_drop(b, c, seed=3)
    assert e1 == e2 and e1.method == "bootstrap"
    assert e1.low < e1.drop < e1.high
    assert P.estimate_drop(b, c, seed=4) != e1


def test_tango_restricted_mle_and_interval_by_root_finding():
    b, c, n = 23, 9, 150
    for d0 in (-0.05, 0.0, 0.04, 0.2):
        # the closed-form q maximizes the constrained trinomial likelihood
        def nll(q):
            return -(b * math.log(q + d0) + c * math.log(q) + (n - b - c) * math.log(1 - 2 * q - d0))
        res = optimize.minimize_scalar(nll, bounds=(max(0, -d0) + 1e-9, (1 - d0) / 2 - 1e-9), method="bounded",
                                       options={"xatol": 1e-12})
        z_direct = (b - c - n * d0) / math.sqrt(n * (2 * res.x + d0 * (1 - d0)))
        assert float(P._tango_z(b, c, n, d0)) == pytest.approx(z_direct, abs=1e-4)
    est = P.estimate_drop(np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)],
                          np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)])
    zc = stats.norm.ppf(0.975)
    assert est.low == pytest.approx(optimize.brentq(lambda d: P._tango_z(b, c, n, d) - zc, -0.99, 0.99), abs=1e-9)
    assert est.high == pytest.approx(optimize.brentq(lambda d: P._tango_z(b, c, n, d) + zc, -0.99, 0.99), abs=1e-9)
    assert est.p_value == pytest.approx(2 * stats.norm.sf((b - c) / math.sqrt(b + c)))  # McNemar


@settings(max_examples=60, deadline=None)
@given(st.integers(20, 80), st.integers(0, 2**31 - 1), st.sampled_from([-0.1, 0.0, 0.05, 0.2]), st.booleans())
def test_one_sided_p_consistent_with_interval(n, seed, limit, binary):
    rng = np.random.default_rng(seed)
    if binary:
        b, c = _binary_pairs(rng, n, 0.2, 0.1)
    else:
        b, c = rng.random(n), rng.random(n) * 0.9
    est = P.estimate_drop(b, c, n_boot=500)
    p_ni = P.noninferiority_p(b, c, limit, n_boot=500)
    p_inf = P.inferiority_p(b, c, limit, n_boot=500)
    assert 0 <= p_ni <= 1 and 0 <= p_inf <= 1
    if est.method == "identical":
        return
    if binary:  # exact duality
        assert (est.high < limit) == (p_ni < 0.025)
        assert (est.low > limit) == (p_inf < 0.025)
        assert p_ni + p_inf == pytest.approx(1.0)
    else:  # duality up to quantile interpolation: only check clear cases
        if est.high < limit - 1e-3:
            assert p_ni < 0.03
        if est.low > limit + 1e-3:
            assert p_inf < 0.03


# -------------------------------------------------------------- coverage


@pytest.mark.parametrize("n,p_lose,p_win", [(200, 0.10, 0.05), (200, 0.05, 0.05), (100, 0.03, 0.01), (500, 0.2, 0.1)])
def test_binary_interval_exact_coverage(n, p_lose, p_win):
    # exact coverage by enumerating every (b, c): no Monte Carlo error
    b, c, pr = _trinomial(n, p_lose, p_win)
    covered = np.abs(P._tango_z(b, c, n, p_lose - p_win)) < stats.norm.ppf(0.975)
    assert 0.935 <= pr[covered].sum() <= 0.96


def test_binary_interval_simulated_coverage():
    # 4000 data sets, n=200, true drop 0.05: MC s.e. of the coverage 0.34%.
    # Batched through the interval routine estimate_drop calls (checked below).
    rng = np.random.default_rng(2024)
    counts = rng.multinomial(200, [0.10, 0.05, 0.85], size=4000)
    low, high = P._tango_interval(counts[:, 0], counts[:, 1], 200, 0.95)
    for i in range(3):
        b, c = counts[i, :2]
        est = P.estimate_drop(np.r_[np.ones(b), np.zeros(c), np.ones(200 - b - c)],
                              np.r_[np.zeros(b), np.ones(c), np.ones(200 - b - c)])
        assert (est.low, est.high) == pytest.approx((low[i], high[i]), abs=1e-12)
    cover = np.mean((low <= 0.05) & (0.05 <= high))
    assert 0.94 <= cover <= 0.96


@pytest.mark.parametrize("kind", ["bounded-score", "skewed-loglik"])
def test_bootstrap_simulated_coverage(kind):
    # 4000 data sets of n=200 cases, default n_boot=4000; MC s.e. 0.34%.
    # The batch helper is the code estimate_drop runs (checked below).
    rng = np.random.default_rng(7)
    if kind == "bounded-score":
        base = rng.beta(5, 2, (4000, 200))
        comp = base * rng.beta(20, 1, (4000, 200))
        true = (5 / 7) * (1 / 21)
    else:
        base = rng.normal(0, 1, (4000, 200))
        comp = base - (rng.exponential(0.2, (4000, 200)) - 0.1)
        true = 0.1
    d = base - comp
    low, high, *_ = P._bca_interval(d, 0.95, 4000, 0)
    for i in (0, 1):
        est = P.estimate_drop(base[i], comp[i])
        assert (est.low, est.high) == pytest.approx((low[i], high[i]), abs=1e-12)
    cover = np.mean((low <= true) & (true <= high))
    assert 0.94 <= cover <= 0.96


# -------------------------------------------------------------- power


def test_documented_power_n_is_exact():
    # lenient mode fails (one-sided 2.5% inferiority test at limit 0) a true
    # 5-point drop (10% lose / 5% win) with power >= 0.90 from N = 612 on
    def power(n):
        b, c, pr = _trinomial(n, 0.10, 0.05)
        return pr[stats.norm.sf(P._tango_z(b, c, n, 0.0)) < 0.025].sum()

    assert power(611) < 0.90 <= power(612)
    assert power(700) >= 0.93


def test_power_simulated_at_documented_n():
    rng = np.random.default_rng(11)
    n, sims = 700, 2000
    lenient_fail = strict_fail = 0
    for _ in range(sims):
        b, c = _binary_pairs(rng, n, 0.10, 0.05)
        lenient_fail += P.inferiority_p(b, c, 0.0) < 0.025
        strict_fail += not (P.noninferiority_p(b, c, 0.0) < 0.025)
    # exact power 0.934; MC s.e. 0.56%
    assert lenient_fail / sims >= 0.90
    assert strict_fail / sims >= 0.99


# -------------------------------------------------------------- Holm, settle


def test_holm_matches_direct_computation():
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    direct = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        direct[i] = running
    assert P.holm(p) == pytest.approx(direct)
    assert P.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2])
    assert P.holm([0.5, 0.6]) == [1.0, 1.0]
    assert P.holm([]) == []
    with pytest.raises(ValueError):
        P.holm([1.5])


def test_cases_to_settle():
    est = P.DropEstimate(drop=0.02, low=-0.02, high=0.06, n=100, method="bootstrap", p_value=None)
    assert P.cases_to_settle(est, 0.04) == 400  # half-width 0.04 -> 0.02: 4x cases
    assert P.cases_to_settle(est, 0.0) == 400
    assert P.cases_to_settle(est, 0.02) is None  # drop == limit
    assert P.cases_to_settle(est, 0.10) is None  # already settled
    # the prediction is roughly right for binary data
    rng = np.random.default_rng(5)
    b, c = _binary_pairs(rng, 300, 0.10, 0.06)
    e = P.estimate_drop(b, c)
    limit = e.drop + 0.6 * (e.high - e.drop)
    need = P.cases_to_settle(e, limit)
    assert need > 300
    b2, c2 = np.tile(b, 4)[:need], np.tile(c, 4)[:need]  # same proportions, more cases
    assert P.estimate_drop(b2, c2).high <= limit + 0.003


# -------------------------------------------------------------- sequential


def test_boundaries_match_published_obrien_fleming_values():
    # Lan-DeMets OBF spending, 5 equally spaced looks, one-sided 0.025
    got = P.sequential_boundaries(P.sequential_plan(500, 5, 0.025))
    assert got == pytest.approx((4.877, 3.357, 2.680, 2.290, 2.031), abs=2e-3)
    assert P.sequential_boundaries(P.sequential_plan(100, 1, 0.05))[0] == pytest.approx(stats.norm.isf(0.05))
    plan = P.sequential_plan(103, 4, 0.05)
    assert plan.looks[-1] == 103 and len(plan.looks) == 4


def _simulate(plan, p_lose, p_win, limit, mode, sims, seed):
    rng = np.random.default_rng(seed)
    verdicts, used = [], []
    for _ in range(sims):
        b, c = _binary_pairs(rng, plan.n_max, p_lose, p_win)
        v, n = P.run_sequential(plan, b, c, limit, mode=mode, binary=True)
        verdicts.append(v)
        used.append(n)
    return np.array(verdicts), np.array(used)


def test_sequential_error_rates_at_the_limit():
    # worst case for both modes: the true drop equals the limit (0.05)
    plan = P.sequential_plan(600, 5, 0.05)
    sims = 2000  # MC s.e. of a 5% rate: 0.49%
    v, _ = _simulate(plan, 0.15, 0.10, 0.05, "lenient", sims, seed=1)
    assert np.mean(v == "fail") <= 0.05 + 3 * 0.0049  # false fail
    v, _ = _simulate(plan, 0.15, 0.10, 0.05, "strict", sims, seed=2)
    assert np.mean(v == "pass") <= 0.05 + 3 * 0.0049  # false pass


def test_sequential_stops_early_on_clear_cut_data():
    plan = P.sequential_plan(600, 5, 0.05)
    for mode in ("strict", "lenient"):
        v, used = _simulate(plan, 0.05, 0.05, 0.10, mode, 300, seed=3)  # no drop, limit 10 points
        assert np.mean(v == "pass") >= 0.99 and used.mean() <= 0.6 * plan.n_max
        v, used = _simulate(plan, 0.32, 0.02, 0.05, mode, 300, seed=4)  # 30-point drop, limit 5
        assert np.mean(v == "fail") >= 0.99 and used.mean() <= 0.6 * plan.n_max


def test_sequential_decision_contract():
    plan = P.sequential_plan(100, 4, 0.05)
    rng = np.random.default_rng(0)
    b, c = rng.random(100), rng.random(100)
    with pytest.raises(ValueError):
        P.sequential_decision(plan, 0, b[:30], c[:30], 0.1, mode="strict")  # look 0 is 25 cases
    with pytest.raises(ValueError):
        P.sequential_decision(plan, 0, b[:25], c[:25], 0.1, mode="both")
    last = len(plan.looks) - 1
    assert P.sequential_decision(plan, last, b, b, 0.0, mode="strict") == "fail"  # cannot show drop < 0
    assert P.sequential_decision(plan, last, b, b, 0.0, mode="lenient") == "pass"
    assert P.sequential_decision(plan, 0, b[:25], b[:25] + 0.2, 0.1, mode="lenient") == "pass"  # improved
