"""Anytime-valid tests of a bounded mean, by betting (Waudby-Smith & Ramdas, 2023).

The gate draws cases in batches and looks after each one, so its tests must
stay valid whenever it stops.  For values ``x_i`` in a known range
``[low, high]`` and a bound ``m``, the wealth of a gambler who bets that the
mean is *below* ``m``,

    K_t = prod_{i <= t} (1 + lambda_i (m - x_i)),   0 <= lambda_i < 1 / (high - m),

is a nonnegative supermartingale whenever the mean is ``>= m`` (each factor has
expectation <= 1), so by Ville's inequality ``P(sup_t K_t >= 1/alpha) <= alpha``:
``p_t = min(1, 1 / max_{s <= t} K_s)`` is a p-value for "mean >= m" that holds
at every stopping time, under optional stopping, case caps and time budgets
alike.  Betting that the mean is *above* ``m`` mirrors it.  Nothing here
assumes 0/1 data or a distribution shape, only the range, so one test serves
binary and bounded continuous metrics; it needs no special case for zero
spread (no discordant pair moves the wealth by a known factor per case).

Bets are *predictable* (``lambda_i`` uses cases before ``i`` only): the
growth-rate-adaptive plug-in ``lambda = mu / (var + mu^2)`` of the payoffs seen
so far, shrunk toward a zero-mean, variance-1/4 pseudo-case, and capped at a
fraction ``f`` of the largest safe bet.  The wealth is the average over
``f`` in :data:`BET_FRACTIONS` (an average of test martingales is one):
aggressive bets decide zero-discordance data fast, cautious ones keep power
when outcomes flip both ways.  Measured in ``benchmarks/gate_error_rates.py``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BET_FRACTIONS", "log_wealth", "anytime_p", "anytime_interval"]

#: fractions of the largest safe bet that the mixture averages over
BET_FRACTIONS = (0.3, 0.6, 0.9)
_PRIOR_VARIANCE = 0.25


def log_wealth(x, bound: float, low: float, high: float, below: bool) -> np.ndarray:
    """Running log-wealth (one value per case) of the mixture betting that the mean of
    ``x`` is below ``bound`` (``below=True``) or above it.

    ``x`` may be 2-D (data sets x cases); values outside ``[low, high]`` are an error.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return log_wealth(x[None, :], bound, low, high, below)[0]
    if not high > low:
        raise ValueError(f"need high > low, got [{low}, {high}]")
    if np.any(x < low - 1e-9) or np.any(x > high + 1e-9):
        raise ValueError(f"values outside their declared range [{low:g}, {high:g}]")
    payoff = (bound - x) if below else (x - bound)
    # The largest loss a bet can meet; a bound at the range's end admits no safe bet.
    worst = (high - bound) if below else (bound - low)
    s, n = payoff.shape
    if worst <= 0:  # every value is on the bet's side of the bound: no risk, but nothing learned either
        return np.zeros((s, n))
    zeros = np.zeros((s, 1))
    before = np.concatenate([zeros, np.cumsum(payoff, axis=1)[:, :-1]], axis=1)
    before2 = np.concatenate([zeros, np.cumsum(payoff * payoff, axis=1)[:, :-1]], axis=1)
    seen = np.arange(n) + 1.0  # cases before this one, plus the pseudo-case
    mean = before / seen
    var = np.maximum((before2 + _PRIOR_VARIANCE) / seen - mean * mean, 1e-6)
    growth = np.maximum(mean, 0.0) / (var + mean * mean)
    # the mixture's log-wealth, summed in log space (a wealth of e^800 is a p-value of 0, not an overflow)
    logs = [np.cumsum(np.log1p(np.minimum(growth, f / worst) * payoff), axis=1) for f in BET_FRACTIONS]
    return np.logaddexp.reduce(np.stack(logs), axis=0) - math.log(len(BET_FRACTIONS))


def anytime_p(x, bound: float, low: float, high: float, below: bool) -> float:
    """p-value for H0 "mean >= bound" (``below=True``) or "mean <= bound", valid at any stopping time."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        return 1.0
    peak = float(np.max(log_wealth(x, bound, low, high, below)))
    return float(min(1.0, math.exp(-peak))) if peak > 0 else 1.0


def anytime_interval(x, low: float, high: float, alpha: float = 0.05, tol: float = 1e-4) -> tuple[float, float]:
    """The bounds ``m`` not rejected at one-sided ``alpha/2`` each: a confidence interval
    for the mean of ``x`` valid at any stopping time (never of zero width for n < infinity)."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        return low, high
    mean = float(np.clip(x.mean(), low, high))

    def edge(below: bool) -> float:
        # below=True: the smallest upper bound m still rejected... search between the mean and the range end
        inside, outside = mean, (high if below else low)
        if anytime_p(x, outside, low, high, below) > alpha / 2:
            return outside
        while abs(outside - inside) > tol:
            mid = 0.5 * (inside + outside)
            if anytime_p(x, mid, low, high, below) <= alpha / 2:
                outside = mid
            else:
                inside = mid
        return outside

    return edge(False), edge(True)
