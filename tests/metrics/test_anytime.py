"""Tests for pytest_compress.metrics.anytime: the betting test stays valid under optional stopping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_compress.metrics.anytime import anytime_interval, anytime_p, log_wealth


def _trinomial(rng, sets, n, p_lose, p_win):
    u = rng.random((sets, n))
    return (u < p_lose).astype(float) - ((u >= p_lose) & (u < p_lose + p_win)).astype(float)


def _ever_rejects(x, bound, low, high, below, alpha):
    """Share of data sets whose running p-value ever reaches alpha: peeking after every case."""
    return float(np.mean(np.max(log_wealth(x, bound, low, high, below), axis=1) >= np.log(1 / alpha)))


@pytest.mark.parametrize("p_lose,p_win", [(0.15, 0.05), (0.10, 0.0), (0.25, 0.15)])
def test_peeking_after_every_case_keeps_the_error_rate_binary(p_lose, p_win):
    # H0 "mean >= bound" true at its edge (mean == bound); 4000 sets of 400 cases, MC s.e. <= 0.35%
    rng = np.random.default_rng(1)
    x = _trinomial(rng, 4000, 400, p_lose, p_win)
    assert _ever_rejects(x, p_lose - p_win, -1, 1, True, 0.05) <= 0.05 + 0.01


def test_peeking_keeps_the_error_rate_zero_inflated_continuous():
    # Zero-inflated drops (80% exactly 0): the case that fooled a mean/SE z-test at small n.
    rng = np.random.default_rng(2)
    x = np.where(rng.random((4000, 200)) < 0.2, rng.beta(2, 3, (4000, 200)), 0.0)
    mean = 0.2 * 2 / 5
    assert _ever_rejects(x, mean, -1, 1, True, 0.05) <= 0.05 + 0.01
    assert _ever_rejects(x, mean, -1, 1, False, 0.05) <= 0.05 + 0.01


def test_power_on_clear_data():
    rng = np.random.default_rng(3)
    x = _trinomial(rng, 500, 300, 0.05, 0.05)  # no drop, limit 0.1, at a 35-check family's level
    assert _ever_rejects(x, 0.1, -1, 1, True, 0.025 / 35) >= 0.75  # measured 0.83
    assert anytime_p(np.zeros(120), 0.1, -1, 1, True) < 1e-3  # 120 agreeing cases show drop < 0.1
    assert anytime_p(np.zeros(18), 0.1, -1, 1, True) > 0.025 / 35  # 18 do not, at a family's level


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-1.0, 0.0, 0.0, 0.0, 1.0]), min_size=2, max_size=80), st.floats(-0.5, 0.5))
def test_p_value_never_rises_as_cases_come_in(xs, bound):
    # a verdict reached at one look cannot be undone at a later one (issue 14, error 3)
    ps = [anytime_p(xs[:k], bound, -1, 1, below) for below in (True, False) for k in range(1, len(xs) + 1)]
    half = len(ps) // 2
    for series in (ps[:half], ps[half:]):
        assert all(b <= a + 1e-12 for a, b in zip(series, series[1:]))


def test_range_is_checked_and_edges_are_safe():
    with pytest.raises(ValueError):
        log_wealth([2.0], 0.0, -1, 1, True)
    with pytest.raises(ValueError):
        log_wealth([0.0], 0.0, 1, 1, True)
    assert anytime_p([1.0, 1.0], 1.0, -1, 1, True) == 1.0  # bound at the range's end: no safe bet
    assert anytime_p([], 0.0, -1, 1, True) == 1.0


def test_interval_covers_and_has_width():
    rng = np.random.default_rng(4)
    x = _trinomial(rng, 400, 60, 0.1, 0.05)
    covered = [lo <= 0.05 <= hi for lo, hi in (anytime_interval(row, -1, 1) for row in x)]
    assert np.mean(covered) >= 0.95
    low, high = anytime_interval(np.zeros(18), -1, 1)
    assert low < 0 < high and high - low > 0.1
