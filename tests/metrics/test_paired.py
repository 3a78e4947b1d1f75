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
    same = P.estimate_drop([1, 0, 1], [1, 0, 1], identical=True)
    assert (same.drop, same.low, same.high, same.method, same.n) == (0.0, 0.0, 0.0, "identical", 3)
    with pytest.raises(ValueError):
        P.estimate_drop([1, 0, 1], [1, 1, 1], identical=True)
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
        assert float(P.tango_z(b, c, n, d0)) == pytest.approx(z_direct, abs=1e-4)
    est = P.estimate_drop(np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)],
                          np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)])
    zc = stats.norm.ppf(0.975)
    assert est.low == pytest.approx(optimize.brentq(lambda d: P.tango_z(b, c, n, d) - zc, -0.99, 0.99), abs=1e-9)
    assert est.high == pytest.approx(optimize.brentq(lambda d: P.tango_z(b, c, n, d) + zc, -0.99, 0.99), abs=1e-9)
    assert est.p_value == pytest.approx(2 * stats.norm.sf((b - c) / math.sqrt(b + c)))  # McNemar


# -------------------------------------------------------------- no shortcut at zero discordance or spread


@pytest.mark.parametrize("n", [12, 18, 48])
def test_no_discordant_pair_is_not_a_zero_width_interval(n):
    # Regression (issue 14, error 1): b = c = 0 gave (0, 0); Tango's interval is +-z^2/(n+z^2).
    ones = np.ones(n)
    est = P.estimate_drop(ones, ones)
    z2 = stats.norm.ppf(0.975) ** 2
    assert est.method == "tango-score"
    assert (est.low, est.high) == pytest.approx((-z2 / (n + z2), z2 / (n + z2)), abs=1e-9)
    if n == 18:
        assert est.high == pytest.approx(0.176, abs=1e-3)


def test_one_discordant_pair_and_none_are_judged_alike():
    # rag.acc@1 with no disagreement and rag.acc@5 with one each way: neither interval is (0, 0),
    # and the no-disagreement one is the narrower, not a different kind of answer
    none = P.estimate_drop(np.ones(12), np.ones(12))
    one_each = P.estimate_drop(np.r_[1.0, 0.0, np.ones(10)], np.r_[0.0, 1.0, np.ones(10)])
    assert 0 < none.high < one_each.high


def test_zero_spread_continuous_drop_gets_a_bounded_interval():
    # a constant drop of 0.1 on 18 cases: the bootstrap would say [0.1, 0.1]; the range says more
    est = P.estimate_drop(np.full(18, 0.6), np.full(18, 0.5), width=1.0)
    assert est.method == "betting"
    assert est.low < 0.1 < est.high and est.high - est.low > 0.1
    assert P.estimate_drop(np.full(18, 0.6), np.full(18, 0.5)).method == "unbounded"


@settings(max_examples=40, deadline=None)
@given(st.integers(20, 80), st.integers(0, 2**31 - 1), st.sampled_from([-0.1, 0.0, 0.05, 0.2]))
def test_bootstrap_one_sided_agrees_with_the_interval(n, seed, limit):
    rng = np.random.default_rng(seed)
    b, c = rng.random(n), rng.random(n) * 0.9
    est = P.estimate_drop(b, c, n_boot=500)
    holds, broken = P.bootstrap_one_sided(b - c, limit, n_boot=500)
    assert 0 <= holds <= 1 and 0 <= broken <= 1
    assert holds + broken == pytest.approx(1.0, abs=1e-3) or min(holds, broken) < 1e-3
    if est.high < limit - 1e-3:  # duality up to quantile interpolation: only clear cases
        assert holds < 0.03
    if est.low > limit + 1e-3:
        assert broken < 0.03
    assert P.bootstrap_one_sided(np.full(n, 0.2), limit) == (1.0, 1.0)  # zero spread tests nothing


# -------------------------------------------------------------- coverage


# Exact coverage of the 95% interval at n = 20, 50, 200 and discordance 0.05, 0.2, 0.5, with the
# discordant cases split 50/50, 75/25 and all losses (no wins). Enumerated, no Monte Carlo error.
COVERAGE_GRID = [(n, disc, share) for n in (20, 50, 200) for disc in (0.05, 0.2, 0.5) for share in (0.5, 0.75, 1.0)]


@pytest.mark.parametrize("n,disc,share", COVERAGE_GRID)
def test_binary_interval_exact_coverage_grid(n, disc, share):
    coverage = P.exact_coverage(n, disc * share, disc * (1 - share))
    assert coverage >= 0.93
    # With fewer than ~10 expected discordant pairs any interval that keeps 93% everywhere must
    # over-cover (a handful of pairs cannot reject anything); from there on it is near nominal.
    if n * disc >= 10:
        assert coverage <= 0.975


@pytest.mark.parametrize("n,p_lose,p_win", [(20, 0.1, 0.1), (50, 0.2, 0.0), (37, 0.05, 0.01)])
def test_exact_coverage_is_the_interval_estimate_drop_shows_summed_over_every_data_set(n, p_lose, p_win):
    b, c, pr = _trinomial(n, p_lose, p_win)
    covered = 0.0
    for bi, ci, p in zip(b, c, pr):  # each data set through the public estimator
        base = np.r_[np.ones(bi), np.zeros(ci), np.ones(n - bi - ci)]
        comp = np.r_[np.zeros(bi), np.ones(ci), np.ones(n - bi - ci)]
        est = P.estimate_drop(base, comp, binary=True)
        covered += p * (est.low <= p_lose - p_win <= est.high)
    assert P.exact_coverage(n, p_lose, p_win) == pytest.approx(covered, abs=1e-9)


@pytest.mark.parametrize("n,p_lose,p_win", [(200, 0.10, 0.05), (200, 0.05, 0.05), (100, 0.03, 0.01), (500, 0.2, 0.1)])
def test_binary_interval_exact_coverage(n, p_lose, p_win):
    # exact coverage by enumerating every (b, c): no Monte Carlo error
    b, c, pr = _trinomial(n, p_lose, p_win)
    covered = np.abs(P.tango_z(b, c, n, p_lose - p_win)) < stats.norm.ppf(0.975)
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


# -------------------------------------------------------------- Holm


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
