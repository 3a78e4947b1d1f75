"""Paired statistics for the compression gate: the drop's fixed-n interval and tests.

Both models score the same ``n`` cases.  The per-case *drop* is
``baseline - compressed`` if higher is better, else ``compressed - baseline``
(positive = the compressed model got worse); the estimate is its mean.

Intervals
---------
* 0/1 outcomes (auto-detected): Tango's (1998) score interval for a paired
  difference of proportions.  With ``b`` cases the compressed model lost and
  ``c`` it won, ``{d0 : |Z(d0)| < z}`` with ``Z(d0) = (b - c - n d0) /
  sqrt(n (2 q + d0 (1 - d0)))``, ``q`` the restricted MLE of P(compressed-only
  correct) under drop ``d0``; ``Z(0)`` is McNemar's statistic.  No shortcut at
  ``b = c = 0``: the interval is then ``+-z^2/(n + z^2)`` (+-0.176 at n = 18),
  since 18 agreeing cases do not show that the models agree on every case.
  Exact coverage by enumeration over n = 20, 50, 200 and discordance 0.05,
  0.2, 0.5 (all-losses included) is in ``tests/metrics/test_paired.py``.
* other outcomes: seeded paired bootstrap of the mean drop, BCa interval
  (closed-form jackknife acceleration) expanded as in Hesterberg (2015): the
  nominal z levels become ``sqrt(n/(n-1)) t_{n-1}`` quantiles, undoing the
  plug-in variance's (n-1)/n shrinkage.  With zero spread a bootstrap knows
  nothing: given the values' range, the anytime-valid betting interval
  (:mod:`.anytime`) is used instead, which never has zero width.
* only an *identical* pair (the caller says so: the same model) gets (0, 0).

``bootstrap_one_sided`` and :func:`tango_z` give the one-sided fixed-n tests
the gate's final look uses (:mod:`pytest_compress.gate.measure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

__all__ = ["DropEstimate", "estimate_drop", "tango_z", "bootstrap_one_sided", "holm", "exact_coverage"]


@dataclass(frozen=True)
class DropEstimate:
    """Estimated drop with a two-sided confidence interval.

    ``p_value`` is two-sided for H0: drop == 0 (McNemar's score test for 0/1
    data, BCa-bootstrap inversion otherwise, 1.0 for identical pairs).
    """
    drop: float
    low: float
    high: float
    n: int
    method: str  # "tango-score" | "bootstrap" | "betting" | "unbounded" | "identical"
    p_value: float | None


def _drops(baseline, compressed, higher_is_better: bool, binary: bool | None):
    b = np.asarray(baseline, dtype=float).ravel()
    c = np.asarray(compressed, dtype=float).ravel()
    if b.shape != c.shape:
        raise ValueError(f"baseline and compressed differ in length: {b.size} != {c.size}")
    if b.size == 0 or not (np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
        raise ValueError("need at least one case, and finite outcomes")
    is01 = bool(np.all((b == 0) | (b == 1)) and np.all((c == 0) | (c == 1)))
    binary = is01 if binary is None else binary
    if binary and not is01:
        raise ValueError("binary=True but outcomes are not all 0/1")
    d = b - c if higher_is_better else c - b
    return d, bool(binary)


def tango_z(b, c, n, d0):
    """Tango's score statistic for H0: p_b - p_c = d0 (vectorized)."""
    b, c, n, d0 = (np.asarray(x, dtype=float) for x in (b, c, n, d0))
    A, B, C = 2.0 * n, -b - c + (2.0 * n - b + c) * d0, -c * d0 * (1.0 - d0)
    q = (np.sqrt(np.maximum(B * B - 4.0 * A * C, 0.0)) - B) / (2.0 * A)
    var = n * (2.0 * q + d0 * (1.0 - d0))
    num = b - c - n * d0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
    return np.where(var > 0, z, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def _tango_interval(b, c, n, confidence):
    """Vectorized score interval by bisection (Z is decreasing in d0)."""
    b, c, n = (np.asarray(x, dtype=float) for x in (b, c, n))
    zc = stats.norm.ppf(0.5 + confidence / 2.0)

    def solve(target):
        lo = np.full(np.broadcast(b, c, n).shape, -1.0)
        hi = np.ones_like(lo)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            above = tango_z(b, c, n, mid) > target
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        return 0.5 * (lo + hi)

    return solve(zc), solve(-zc)


def _boot_counts(n: int, n_boot: int, seed):
    """Resampling counts (n_boot, n) from a seeded Generator, in chunks."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 4_000_000 // n))
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        flat = (np.arange(m)[:, None] * n + idx).ravel()
        yield np.bincount(flat, minlength=m * n).reshape(m, n).astype(float)


def _boot_means(d2: np.ndarray, n_boot: int, seed) -> np.ndarray:
    """Bootstrap means for each row of ``d2`` (S, n) -> (S, n_boot).

    Every row uses the same resampling counts (those of ``seed``), so a single
    data set gives the same result alone or inside a batch.
    """
    n = d2.shape[1]
    parts = [d2 @ w.T / n for w in _boot_counts(n, n_boot, seed)]
    return np.concatenate(parts, axis=1)


def _bca_parts(d2: np.ndarray, boots: np.ndarray):
    """z0 and acceleration per row."""
    theta = d2.mean(axis=1, keepdims=True)
    nb = boots.shape[1]
    prop = (boots < theta).mean(axis=1) + 0.5 * (boots == theta).mean(axis=1)
    z0 = stats.norm.ppf(np.clip(prop, 0.5 / nb, 1 - 0.5 / nb))
    u = d2 - theta
    s2 = (u * u).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s2 > 0, (u**3).sum(axis=1) / (6.0 * s2**1.5), 0.0)
    return z0, a


def _expand(n: int) -> float:
    """Hesterberg's expansion: the bootstrap's plug-in variance is (n-1)/n too small."""
    return math.sqrt(n / (n - 1.0))


def _bca_interval(d2: np.ndarray, confidence: float, n_boot: int, seed):
    """BCa interval of the mean for each row of ``d2`` (S, n)."""
    boots = _boot_means(d2, n_boot, seed)
    z0, a = _bca_parts(d2, boots)
    zs = _expand(d2.shape[1]) * stats.t.ppf([0.5 - confidence / 2.0, 0.5 + confidence / 2.0], d2.shape[1] - 1)
    t = z0[:, None] + zs[None, :]
    levels = stats.norm.cdf(z0[:, None] + t / (1.0 - a[:, None] * t))
    boots.sort(axis=1)
    low, high = np.array([np.quantile(r, lv) for r, lv in zip(boots, levels)]).T
    return low, high, boots, z0, a


def _bca_level(boots_row, z0, a, value, n):
    """Nominal level whose (expanded) BCa quantile equals ``value``: the inverse map."""
    nb = boots_row.size
    g = np.mean(boots_row < value) + 0.5 * np.mean(boots_row == value)
    w = stats.norm.ppf(min(max(g, 0.5 / nb), 1 - 0.5 / nb)) - z0
    den = 1.0 + a * w
    t = w / den if den > 0 else math.copysign(np.inf, w)
    return float(stats.t.cdf((t - z0) / _expand(n), n - 1))


def exact_coverage(n: int, p_lose: float, p_win: float, confidence: float = 0.95) -> float:
    """How often the interval :func:`estimate_drop` shows for ``n`` paired 0/1 cases holds the true
    drop ``p_lose - p_win``, summed exactly over every (losses, wins) count (no Monte Carlo error)."""
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    possible = b + c <= n
    b, c = b[possible], c[possible]
    pr = np.exp(stats.multinomial.logpmf(np.stack([b, c, n - b - c], 1), n, [p_lose, p_win, 1 - p_lose - p_win]))
    low, high = _tango_interval(b, c, n, confidence)
    truth = p_lose - p_win
    return float(pr[(low <= truth) & (truth <= high)].sum())


def estimate_drop(baseline, compressed, *, higher_is_better: bool = True, binary: bool | None = None,
                  confidence: float = 0.95, seed=0, n_boot: int = 4000, identical: bool = False,
                  width: float | None = None) -> DropEstimate:
    """Mean per-case drop with a two-sided ``confidence`` interval.

    ``binary=None`` auto-detects 0/1 outcomes.  ``seed`` (int or
    ``numpy.random.Generator``) drives the bootstrap only.  ``identical``: the
    two sides are one model, so the drop is exactly 0.  ``width``: the width of
    the values' range (drops lie in ``[-width, width]``), used when the drops
    have no spread; without it such an interval is unbounded.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    d, binary = _drops(baseline, compressed, higher_is_better, binary)
    n = d.size
    drop = float(d.mean())
    if identical:
        if not np.all(d == 0):
            raise ValueError("identical=True but the two sides differ")
        return DropEstimate(0.0, 0.0, 0.0, n, "identical", 1.0)
    if binary:
        b, c = int(np.sum(d > 0)), int(np.sum(d < 0))
        low, high = _tango_interval(b, c, n, confidence)
        p = float(min(1.0, 2 * stats.norm.sf(abs(float(tango_z(b, c, n, 0.0))))))
        return DropEstimate(drop, float(low), float(high), n, "tango-score", p)
    if np.all(d == d[0]):  # no spread: the bootstrap would claim certainty it does not have
        from .anytime import anytime_interval, anytime_p

        if width is None or not np.isfinite(width):
            return DropEstimate(drop, -np.inf, np.inf, n, "unbounded", 1.0)
        low, high = anytime_interval(d, -width, width, 1.0 - confidence)
        p = 2 * min(anytime_p(d, 0.0, -width, width, True), anytime_p(d, 0.0, -width, width, False))
        return DropEstimate(drop, low, high, n, "betting", min(1.0, p))
    low, high, boots, z0, a = _bca_interval(d[None, :], confidence, n_boot, seed)
    lv = _bca_level(boots[0], z0[0], a[0], 0.0, n)
    p = float(min(1.0, 2 * min(lv, 1 - lv)))
    return DropEstimate(drop, float(low[0]), float(high[0]), n, "bootstrap", p)


def bootstrap_one_sided(x, threshold: float, seed=0, n_boot: int = 4000) -> tuple[float, float]:
    """BCa-bootstrap one-sided p-values ``(H0: mean >= threshold, H0: mean <= threshold)`` of ``x``."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size < 2 or np.all(x == x[0]):
        return 1.0, 1.0  # no spread: the bootstrap distribution is a point and tests nothing
    boots = _boot_means(x[None, :], n_boot, seed)
    z0, a = _bca_parts(x[None, :], boots)
    level = _bca_level(boots[0], z0[0], a[0], threshold, x.size)
    return 1.0 - level, level


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in input order, capped at 1."""
    p = np.asarray(list(p_values), dtype=float)
    m = p.size
    if m == 0:
        return []
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    order = np.argsort(p, kind="stable")
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out.tolist()
