"""Limits resolved into one-sided checks ``E[x] <= threshold`` (pytest_compress.gate.checks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.gate import Check, checks_for
from pytest_compress.limits import Limit


def test_every_key_becomes_its_checks_in_order():
    limit = Limit(max_drop=0.1, max_rel_drop=0.05, max_change=0.2, min=0.3, max=0.9)
    keys = [c.key for c in checks_for("m", limit)]
    assert keys == ["max_drop", "max_rel_drop", "max_change (fall)", "max_change (rise)", "min", "max"]
    assert checks_for("m", Limit()) == []


@pytest.mark.parametrize("hib", [True, False])
def test_drop_and_change_statistics(hib):
    b, c = np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0])
    d = (b - c) if hib else (c - b)
    x, t, lo, hi = Check("m", "max_drop", 0.1).values(b, c, hib, 0.0, 1.0)
    assert np.array_equal(x, d) and (t, lo, hi) == (0.1, -1.0, 1.0)
    x, t, *_ = Check("m", "max_change (rise)", 0.1).values(b, c, hib, 0.0, 1.0)
    assert np.array_equal(x, -d) and t == 0.1


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30), st.floats(0.0, 0.9),
       st.booleans())
def test_relative_drop_is_linear_and_bounded(pairs, r, hib):
    b, c = (np.array(v) for v in zip(*pairs))
    check = Check("m", "max_rel_drop", r)
    x, t, lo, hi = check.values(b, c, hib, 0.0, 1.0)
    assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
    mb, mc = b.mean(), c.mean()
    if mb > 1e-6:
        rel = ((mb - mc) if hib else (mc - mb)) / mb
        if abs(rel - r) > 1e-6:  # away from the edge the linear form says what the ratio says
            assert (x.mean() <= t) == (rel <= r)


def test_score_bounds_use_the_metrics_range():
    c = np.array([0.5, 0.9])
    x, t, lo, hi = Check("tau", "min", 0.6).values(np.zeros(2), c, True, -1.0, 1.0)
    assert np.array_equal(x, -c) and (t, lo, hi) == (-0.6, -1.0, 1.0)
    x, t, lo, hi = Check("kl", "max", 0.2).values(np.zeros(2), c, False, 0.0, float("inf"))
    assert np.array_equal(x, c) and (t, lo, hi) == (0.2, 0.0, float("inf"))


def test_texts_name_the_limit():
    assert Check("m", "min", 0.6).holds_text(True) == "score >= min 0.6"
    assert Check("m", "max_change (rise)", 0.1).holds_text(False) == "rise > max_change 0.1"
    assert Check("m", "max_drop", 0.1).on_drop and not Check("m", "min", 0.6).on_drop
