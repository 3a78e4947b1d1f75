"""Paired statistics for the compression gate.

Both models score the same ``n`` cases.  The per-case *drop* is
``baseline - compressed`` if higher is better, else ``compressed - baseline``
(positive = the compressed model got worse); the estimate is its mean.

Intervals
---------
* 0/1 outcomes (auto-detected): Tango's (1998) score interval for a paired
  difference of proportions.  With ``b`` cases the compressed model lost and
  ``c`` it won, ``{d0 : |Z(d0)| < z}`` with ``Z(d0) = (b - c - n d0) /
  sqrt(n (2 q + d0 (1 - d0)))``, ``q`` the restricted MLE of P(compressed-only
  correct) under drop ``d0``; ``Z(0)`` is McNemar's statistic.  Chosen over
  the McNemar-conditional Clopper-Pearson interval (CP on ``b/(b+c)`` mapped
  to ``((b+c)/n)(2 pi - 1)``), which treats ``b+c`` as fixed and misses in
  both directions.  Exact coverage by enumeration, (P(lose), P(win), n):
  (0.10, 0.05, 200) CP 0.958 vs Tango 0.951; (0.05, 0.05, 200) 0.971 vs
  0.948; (0.03, 0.01, 100) 0.841 vs 0.952.
* other outcomes: seeded paired bootstrap of the mean drop, BCa interval
  (closed-form jackknife acceleration) expanded as in Hesterberg (2015): the
  nominal z levels become ``sqrt(n/(n-1)) t_{n-1}`` quantiles, undoing the
  plug-in variance's (n-1)/n shrinkage.  Simulated 95% coverage, n=200, 4000
  data sets of two skewed drop distributions: 0.946 and 0.957 in the test
  (another seed: 0.948/0.951, plain percentile 0.944/0.947).
* all pairs identical: interval (0, 0), method ``"identical"`` -- a
  convention; a score interval for 0/1 data would still have some width.

``noninferiority_p`` / ``inferiority_p`` invert the same machinery: at
``confidence=0.95`` the upper bound is below the limit iff
``noninferiority_p < 0.025``, the lower bound above it iff
``inferiority_p < 0.025`` (exactly for 0/1 data; for the bootstrap up to
quantile interpolation).

Power (documented N)
--------------------
0/1 outcomes, P(lose)=0.10, P(win)=0.05 (a true 5-point drop): the one-sided
2.5% inferiority test at limit 0 (how "lenient" mode fails a model; also the
95% interval's lower end > 0) has exact power >= 0.90 for every N >= 612
(0.934 at N=700).  Strict mode at limit 0 fails such a model with probability
~1 at any N (non-inferiority to 0 cannot be shown for a positive drop); the
dual strict claim -- passing a model with no true drop (0.10/0.10) against a
5-point limit with power >= 0.90 -- holds for N >= 852.  More discordant
cases need proportionally more N.

Sequential plan
---------------
``sequential_plan`` spreads ``n_looks`` equally spaced looks up to ``n_max``
with one-sided boundaries ``c_k`` from the Lan-DeMets O'Brien-Fleming
spending function ``alpha(t) = 2 (1 - Phi(z_{1-alpha/2} / sqrt(t)))``,
computed by deterministic numerical integration of the Brownian-motion
recursion (Armitage-McPherson-Rowe).  ``alpha`` is ONE-sided per direction;
``alpha=0.025`` matches a two-sided 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import optimize, stats

__all__ = ["DropEstimate", "estimate_drop", "noninferiority_p", "inferiority_p", "holm", "cases_to_settle",
           "SequentialPlan", "sequential_plan", "sequential_boundaries", "sequential_decision", "run_sequential"]


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
    method: str  # "tango-score" | "bootstrap" | "identical"
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


def _tango_z(b, c, n, d0):
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
            above = _tango_z(b, c, n, mid) > target
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


def estimate_drop(baseline, compressed, *, higher_is_better: bool = True, binary: bool | None = None,
                  confidence: float = 0.95, seed=0, n_boot: int = 4000) -> DropEstimate:
    """Mean per-case drop with a two-sided ``confidence`` interval.

    ``binary=None`` auto-detects 0/1 outcomes.  ``seed`` (int or
    ``numpy.random.Generator``) drives the bootstrap only.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    d, binary = _drops(baseline, compressed, higher_is_better, binary)
    n = d.size
    drop = float(d.mean())
    if np.all(d == 0):
        return DropEstimate(0.0, 0.0, 0.0, n, "identical", 1.0)
    if binary:
        b, c = int(np.sum(d > 0)), int(np.sum(d < 0))
        low, high = _tango_interval(b, c, n, confidence)
        p = float(min(1.0, 2 * stats.norm.sf(abs(float(_tango_z(b, c, n, 0.0))))))
        return DropEstimate(drop, float(low), float(high), n, "tango-score", p)
    if np.all(d == d[0]):  # a constant non-zero drop: no sampling spread
        return DropEstimate(drop, drop, drop, n, "bootstrap", 0.0)
    low, high, boots, z0, a = _bca_interval(d[None, :], confidence, n_boot, seed)
    lv = _bca_level(boots[0], z0[0], a[0], 0.0, n)
    p = float(min(1.0, 2 * min(lv, 1 - lv)))
    return DropEstimate(drop, float(low[0]), float(high[0]), n, "bootstrap", p)


def _one_sided(baseline, compressed, limit, higher_is_better, binary, seed, n_boot, upper: bool):
    """P-value for H0: drop >= limit (upper=True) or H0: drop <= limit."""
    d, binary = _drops(baseline, compressed, higher_is_better, binary)
    n = d.size
    if np.all(d == d[0]):  # identical pairs or a constant drop: no spread
        m = float(d[0])
        return float(not (m < limit)) if upper else float(not (m > limit))
    if binary:
        z = float(_tango_z(int(np.sum(d > 0)), int(np.sum(d < 0)), n, limit))
        return float(stats.norm.cdf(z) if upper else stats.norm.sf(z))
    boots = _boot_means(d[None, :], n_boot, seed)
    z0, a = _bca_parts(d[None, :], boots)
    lv = _bca_level(boots[0], z0[0], a[0], limit, n)
    return 1.0 - lv if upper else lv


def noninferiority_p(baseline, compressed, limit: float, *, higher_is_better: bool = True,
                     binary: bool | None = None, seed=0, n_boot: int = 4000) -> float:
    """One-sided p-value for H0: drop >= limit against H1: drop < limit.

    ``p < (1 - confidence)/2`` iff the two-sided interval of ``estimate_drop``
    (same seed and n_boot) lies below ``limit``.
    """
    return _one_sided(baseline, compressed, limit, higher_is_better, binary, seed, n_boot, True)


def inferiority_p(baseline, compressed, limit: float, *, higher_is_better: bool = True,
                  binary: bool | None = None, seed=0, n_boot: int = 4000) -> float:
    """One-sided p-value for H0: drop <= limit against H1: drop > limit."""
    return _one_sided(baseline, compressed, limit, higher_is_better, binary, seed, n_boot, False)


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


def cases_to_settle(estimate: DropEstimate, limit: float, confidence: float = 0.95) -> int | None:
    """Approximate n at which the interval would stop straddling ``limit``.

    Uses the interval side facing the limit (``high - drop`` when the limit is
    above the drop, else ``drop - low``) and scales it by ``sqrt(n/n')``.
    ``confidence`` must be the level the estimate was computed at; the answer
    does not depend on it (the ratio of half-widths is level-free).  Returns
    None when the verdict is already settled (limit outside [low, high]) or
    when ``drop == limit`` (no n settles it).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    gap = abs(estimate.drop - limit)
    if gap == 0 or not (estimate.low <= limit <= estimate.high):
        return None
    half = estimate.high - estimate.drop if limit > estimate.drop else estimate.drop - estimate.low
    return max(estimate.n + 1, math.ceil(estimate.n * (half / gap) ** 2))


@dataclass(frozen=True)
class SequentialPlan:
    """Looks (cumulative case counts) and the one-sided error rate."""
    n_max: int
    looks: tuple[int, ...]
    alpha: float


def sequential_plan(n_max: int, n_looks: int = 5, alpha: float = 0.05) -> SequentialPlan:
    """Equally spaced looks up to ``n_max``; ``alpha`` is one-sided."""
    if n_looks < 1 or n_max < n_looks:
        raise ValueError("need 1 <= n_looks <= n_max")
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must be in (0, 0.5)")
    looks = tuple(sorted({max(1, round(n_max * k / n_looks)) for k in range(1, n_looks + 1)}))
    return SequentialPlan(int(n_max), looks, float(alpha))


@lru_cache(maxsize=64)
def _boundaries(fractions: tuple[float, ...], alpha: float, m: int = 1601) -> tuple[float, ...]:
    """Z-scale boundaries for O'Brien-Fleming-type spending (recursive integration)."""
    spent = 2.0 * stats.norm.sf(stats.norm.isf(alpha / 2.0) / np.sqrt(np.asarray(fractions)))
    out, grid, dens, prev_t, prev_spent = [], None, None, 0.0, 0.0
    for t, s in zip(fractions, spent):
        inc, dt = s - prev_spent, t - prev_t
        if grid is None:  # first look: W(t) ~ N(0, t)
            c = stats.norm.isf(inc)
            bnd = c * math.sqrt(t)  # boundary on the W scale
            grid = np.linspace(-10.0 * math.sqrt(t), bnd, m)
            dens = stats.norm.pdf(grid, scale=math.sqrt(t))
        else:
            w = np.full(m, grid[1] - grid[0])
            w[[0, -1]] *= 0.5  # trapezoid weights
            mass, sd = dens * w, math.sqrt(dt)

            def cross(bv):
                return float(mass @ stats.norm.sf((bv - grid) / sd)) - inc

            hi = grid[-1] + 12 * sd
            bnd = optimize.brentq(cross, grid[0], hi, xtol=1e-12) if inc > 0 and cross(grid[0]) > 0 else hi
            c = bnd / math.sqrt(t)
            new = np.linspace(-10.0 * math.sqrt(t), bnd, m)
            dens = stats.norm.pdf((new[:, None] - grid[None, :]) / sd) / sd @ mass
            grid = new
        out.append(float(c))
        prev_t, prev_spent = t, s
    return tuple(out)


def sequential_boundaries(plan: SequentialPlan) -> tuple[float, ...]:
    """One-sided z boundaries c_k, one per look (the last is ~z_{1-alpha} or above)."""
    return _boundaries(tuple(k / plan.n_max for k in plan.looks), plan.alpha)


def _z_below_limit(d: np.ndarray, binary: bool, limit: float) -> float:
    """z for 'drop < limit' (positive = evidence the drop is below the limit)."""
    n = d.size
    if binary:
        return -float(_tango_z(int(np.sum(d > 0)), int(np.sum(d < 0)), n, limit))
    m = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    if sd == 0.0:
        return math.inf if m < limit else (-math.inf if m > limit else 0.0)
    return (limit - m) / (sd / math.sqrt(n))


def sequential_decision(plan: SequentialPlan, look_index: int, baseline, compressed, limit: float, *,
                        mode: str, higher_is_better: bool = True, binary: bool | None = None) -> str:
    """"pass", "fail" or "continue" at look ``look_index`` (0-based).

    ``baseline``/``compressed`` hold the first ``plan.looks[look_index]``
    cases.  With ``z`` the normal-approximation statistic of the mean drop
    against ``limit`` (Tango score z for 0/1 data, mean/SE otherwise; positive
    when the drop is below the limit) and ``c`` this look's boundary:

    * strict: pass if ``z >= c`` (non-inferiority shown); fail if ``z <= -c``
      (inferiority shown, futility) or at the last look without a pass.
      P(pass | drop >= limit) <= alpha.
    * lenient: fail if ``-z >= c`` (inferiority shown); pass if ``z >= c``
      (clearly no regression) or at the last look without a fail.
      P(fail | drop <= limit) <= alpha.
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', not {mode!r}")
    if not 0 <= look_index < len(plan.looks):
        raise ValueError("look_index out of range")
    d, binary = _drops(baseline, compressed, higher_is_better, binary)
    if d.size != plan.looks[look_index]:
        raise ValueError(f"look {look_index} expects {plan.looks[look_index]} cases, got {d.size}")
    c = sequential_boundaries(plan)[look_index]
    z = _z_below_limit(d, binary, limit)
    last = look_index == len(plan.looks) - 1
    if mode == "strict":
        if z >= c:
            return "pass"
        return "fail" if (z <= -c or last) else "continue"
    if -z >= c:
        return "fail"
    return "pass" if (z >= c or last) else "continue"


def run_sequential(plan: SequentialPlan, baseline, compressed, limit: float, *, mode: str,
                   higher_is_better: bool = True, binary: bool | None = None) -> tuple[str, int]:
    """Walk the looks over full-length arrays; returns (verdict, cases used)."""
    b = np.asarray(baseline, dtype=float).ravel()
    c = np.asarray(compressed, dtype=float).ravel()
    if b.size < plan.n_max or c.size < plan.n_max:
        raise ValueError("need at least plan.n_max cases")
    if binary is None:
        _, binary = _drops(b[: plan.n_max], c[: plan.n_max], higher_is_better, None)
    for i, k in enumerate(plan.looks):
        v = sequential_decision(plan, i, b[:k], c[:k], limit, mode=mode,
                                higher_is_better=higher_is_better, binary=binary)
        if v != "continue":
            return v, k
    raise AssertionError("unreachable: the last look always decides")
