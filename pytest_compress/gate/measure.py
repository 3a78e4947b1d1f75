"""Evidence for one check from the paired cases seen so far: p-values, resolution, cases to decide.

Two one-sided hypotheses per check, each with its own p-value:

* ``p_holds``: H0 "the limit is broken" (``E[x] >= threshold``); small means the
  data show the limit holds (a decided *pass*);
* ``p_broken``: H0 "the limit holds" (``E[x] <= threshold``); small means they
  show it is broken (a decided *fail*).

Each p-value is ``min(1, p_anytime / 0.2, p_final / 0.8)``: ``p_anytime`` is the
betting test of :mod:`pytest_compress.metrics.anytime`, valid at whatever look
the gate stops; ``p_final`` is the classical fixed-n test (Tango's score test
for paired 0/1 drops, the seeded BCa bootstrap otherwise), used only when the
gate ran every case it was allowed (its fixed n is then the cap, decided before
any data). The weighted union bound makes the pair valid together; most of the
alpha goes to the final test, which keeps the power of a fixed design when a
verdict needs the whole cap, the rest buys early stops on clear data.
A metric without a finite range has no anytime test: it runs to the cap and
uses the final test alone.

An identical pair (the ``none`` control, or weights bit-identical to the
baseline) settles every check on the difference exactly, and every check of a
suite that scores the compressed model against the baseline (agreement: tau is
1 at identity); nothing else does: 18 cases without a disagreement are
evidence, weighed like any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import stats

from ..metrics.anytime import anytime_p
from .checks import DROP_KEYS, Check

#: one-sided error rate of each family (false passes; false failures): that of a two-sided 95% interval
ALPHA = 0.025
#: power at which resolutions and cases-to-decide are stated
POWER = 0.80
#: share of each check's alpha spent on the anytime test (early stops); the rest on the
#: fixed-n test of a full cap, which has the more power when a verdict needs the whole cap
ANYTIME_SHARE = 0.2
#: cases in a gate's first batch, and the fewest any later batch adds (each adds half of what is in)
FIRST_BATCH = 16


def batch_ends(cap: int, first: int = FIRST_BATCH) -> list[int]:
    """Cumulative case counts at which a gate with ``cap`` cases looks: 16, 32, 48, 72, 108, ..., cap."""
    ends, upto = [], 0
    while upto < cap:
        upto = min(cap, upto + max(first, upto // 2))
        ends.append(upto)
    return ends


def stop_reason(checks, family: int, alpha: float = ALPHA) -> str | None:
    """Why a gate may stop drawing cases after a look that is not its last: ``"failed"`` once
    a check is shown broken at the family's first Holm level (the gate has failed whatever
    the rest shows), ``"settled"`` once every check is decided; None to go on (also when
    nothing is gated: ungated metrics are reported on every case)."""
    if not checks:
        return None
    level = alpha / max(1, family)
    if any(not c.exact and c.p_broken <= level for c in checks):
        return "failed"
    return "settled" if all(c.settled(alpha, family) for c in checks) else None


@dataclass(frozen=True)
class CheckResult:
    """One check measured on ``n`` paired cases, and (after :func:`~.decide.decide`) its status."""

    check: Check
    value: float
    n: int
    p_holds: float
    p_broken: float
    #: the gap from the bound that this n detects with POWER, at the family's per-check level
    resolution: float
    #: about how many cases would decide a model whose drop is 0 (drop checks) or whose value is
    #: where it was measured (score checks); None when no n would
    n_to_decide: int | None
    exact: bool = False
    #: "pass" | "fail" | "inconclusive" once decided; "undecided" before
    status: str = "undecided"
    p_holds_adjusted: float | None = None
    p_broken_adjusted: float | None = None
    family: int = 0

    @property
    def point_holds(self) -> bool:
        """The point estimate is within the limit (the ``point`` mode's fallback)."""
        if self.check.key == "min":
            return self.value >= self.check.bound
        return not self.value > self.check.bound  # NaN (relative drop of a zero baseline) counts as within

    def settled(self, alpha: float, family: int) -> bool:
        """Decided already at the family's first Holm level (used to stop drawing cases)."""
        return self.exact or min(self.p_holds, self.p_broken) <= alpha / max(1, family)

    def decided(self, status: str, p_holds_adjusted: float, p_broken_adjusted: float, family: int) -> "CheckResult":
        return replace(self, status=status, p_holds_adjusted=p_holds_adjusted, p_broken_adjusted=p_broken_adjusted,
                       family=family)

    def reason(self) -> str:
        c = self.check
        head = f"{c.quantity} {self.value:+.3f}" if c.quantity != "score" else f"score {self.value:.3f}"
        if self.exact:
            return f"{head}: {c.holds_text(True)} exactly (identical models)"
        verdict = {"pass": c.holds_text(True) + " shown", "fail": c.holds_text(False) + " shown",
                   "inconclusive": "inconclusive"}.get(self.status, self.status)
        p = (f"p(holds) {self.p_holds:.2g}, p(broken) {self.p_broken:.2g}" if self.p_holds_adjusted is None else
             f"Holm-adjusted p(holds) {self.p_holds_adjusted:.2g}, p(broken) {self.p_broken_adjusted:.2g} "
             f"over {self.family} checks")
        text = f"{head}: {verdict} ({p}); n={self.n} resolves +-{self.resolution:.3f}"
        if self.status == "inconclusive" and self.n_to_decide is not None:
            text += f"; about {self.n_to_decide} cases would {self.decides}"
        return text

    @property
    def decides(self) -> str:
        """What :attr:`n_to_decide` cases would do, in words."""
        if self.check.on_drop:
            return f"pass a model with no {self.check.quantity} against this limit (80% power)"
        return "decide a score this far from the bound (80% power)"

    def to_dict(self) -> dict:
        return {
            "key": self.check.key, "bound": self.check.bound, "value": self.value, "n": self.n,
            "status": self.status, "exact": self.exact, "p_holds": self.p_holds, "p_broken": self.p_broken,
            "p_holds_adjusted": self.p_holds_adjusted, "p_broken_adjusted": self.p_broken_adjusted,
            "family": self.family, "resolution": self.resolution, "n_to_decide": self.n_to_decide,
        }


def _final_p(x: np.ndarray, threshold: float, binary_drop: bool, seed) -> tuple[float, float]:
    """Fixed-n one-sided p-values (holds, broken) on the whole cap."""
    from ..metrics.paired import bootstrap_one_sided, tango_z

    if binary_drop:
        z = float(tango_z(int(np.sum(x > 0)), int(np.sum(x < 0)), x.size, threshold))
        return float(stats.norm.cdf(z)), float(stats.norm.sf(z))
    if np.all(x == x[0]):  # a bootstrap of zero spread says nothing; the anytime test still weighs it
        return 1.0, 1.0
    return bootstrap_one_sided(x, threshold, seed)


def _z_power(alpha: float, family: int) -> float:
    return float(stats.norm.isf((1 - ANYTIME_SHARE) * alpha / max(1, family)) + stats.norm.isf(1 - POWER))


def _decides_without_spread(n: int, gap: float, x_low: float, x_high: float, level: float, binary_drop: bool) -> bool:
    """Would n cases exactly ``gap`` inside the bound (no spread at all) decide the check?
    No n below this can, whatever the data: the tests' floor, which a normal formula misses."""
    from ..metrics.paired import tango_z

    if anytime_p(np.zeros(n), gap, x_low, x_high, True) <= ANYTIME_SHARE * level:
        return True
    return binary_drop and float(stats.norm.cdf(tango_z(0, 0, n, gap))) <= (1 - ANYTIME_SHARE) * level


@lru_cache(maxsize=4096)
def _fewest_cases(gap: float, x_low: float, x_high: float, level: float, binary_drop: bool) -> int | None:
    if not 0 < gap < x_high:
        return None
    hi = 16
    while not _decides_without_spread(hi, gap, x_low, x_high, level, binary_drop):
        if hi > 1_000_000:
            return None
        hi *= 2
    lo = hi // 2  # does not decide (or 8, below any first batch)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _decides_without_spread(mid, gap, x_low, x_high, level, binary_drop) else (mid, hi)
    return hi


@lru_cache(maxsize=4096)
def _narrowest_gap(n: int, x_low: float, x_high: float, level: float, binary_drop: bool) -> float:
    inside, outside = x_high, 0.0  # decides at the range's end (if at all); not at 0
    if not _decides_without_spread(n, x_high * (1 - 1e-9), x_low, x_high, level, binary_drop):
        return x_high
    for _ in range(40):
        mid = 0.5 * (inside + outside)
        inside, outside = (mid, outside) if _decides_without_spread(n, mid, x_low, x_high, level, binary_drop) \
            else (inside, mid)
    return inside


def measure_check(check: Check, b, c, *, higher_is_better: bool, low: float, high: float, binary: bool,
                  exact: bool = False, final: bool = False, family: int = 1, alpha: float = ALPHA,
                  seed=0) -> CheckResult:
    """Measure ``check`` on the paired per-case values ``b``, ``c`` (finite, same length).

    ``exact``: the two sides are one model and this check's outcome follows from that alone
    (a drop is 0; a score measured against the baseline is its value at identity), so the
    point value decides it; ``final``: these are all the cases the gate was allowed (the
    fixed-n test applies); ``family``: the number of checks judged together (sets the
    stated resolution).
    """
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    n = b.size
    value = check.shown(float(b.mean()), float(c.mean()), higher_is_better) if n else float("nan")
    if exact and n:
        result = CheckResult(check, 0.0 if check.on_drop else value, n, 0.0, 0.0, 0.0, None, exact=True)
        holds = result.point_holds
        return replace(result, p_holds=0.0 if holds else 1.0, p_broken=1.0 if holds else 0.0)
    if n == 0:
        return CheckResult(check, value, 0, 1.0, 1.0, math.inf, None)
    x, threshold, x_low, x_high = check.values(b, c, higher_is_better, low, high)
    if threshold >= x_high or threshold < x_low:  # a bound past the values' range holds (or breaks) by definition
        holds = threshold >= x_high
        return CheckResult(check, value, n, 0.0 if holds else 1.0, 1.0 if holds else 0.0, 0.0, None, exact=True)
    bounded = math.isfinite(x_low) and math.isfinite(x_high)
    if bounded:
        p_holds = anytime_p(x, threshold, x_low, x_high, below=True)
        p_broken = anytime_p(x, threshold, x_low, x_high, below=False)
    else:
        p_holds = p_broken = 1.0
    binary_drop = binary and check.key in DROP_KEYS
    # Two tests per hypothesis (anytime and final) share its alpha by a weighted union bound;
    # without a range only the final test exists.
    if bounded:
        p_holds, p_broken = p_holds / ANYTIME_SHARE, p_broken / ANYTIME_SHARE
    if final and n > 1:
        f_holds, f_broken = _final_p(x, threshold, binary_drop, seed)
        share = 1 - ANYTIME_SHARE if bounded else 1.0
        p_holds, p_broken = min(p_holds, f_holds / share), min(p_broken, f_broken / share)
    p_holds, p_broken = min(1.0, p_holds), min(1.0, p_broken)
    # Spread with one pseudo-case at half the range's width: n cases without a disagreement
    # still leave room for a drop of about 1/n, as they should.
    spread = (x_high - x_low) / 2 if bounded else float(np.std(x)) or 1.0
    sd = math.sqrt((float(np.sum((x - x.mean()) ** 2)) + spread**2) / (n + 1))
    z = _z_power(alpha, family)
    level = alpha / max(1, family)
    resolution = z * sd / math.sqrt(n)
    gap = check.bound if check.on_drop and check.key != "max_rel_drop" else abs(float(x.mean()) - threshold)
    if check.key == "max_rel_drop":
        gap = check.bound * abs(float(b.mean()))
    n_to_decide = math.ceil((z * sd / gap) ** 2) if gap > 0 else None
    if bounded:  # neither may promise less than data without any spread could deliver
        width = (x_high - x_low) / 2
        resolution = max(resolution, _narrowest_gap(n, -width, width, level, binary_drop))
        fewest = _fewest_cases(round(gap, 9), -width, width, level, binary_drop) if gap > 0 else None
        n_to_decide = None if n_to_decide is None or fewest is None else max(n_to_decide, fewest)
    return CheckResult(check, value, n, p_holds, p_broken, resolution, n_to_decide)


def replay_gate(metrics, cap: int, family: int, *, identical: bool = False, reference: bool = False,
                alpha: float = ALPHA, seed=0):
    """The gate's sequential procedure on data already in hand (simulations, benchmarks):
    ``metrics`` is a list of ``(checks, b, c, higher_is_better, low, high, binary)`` with
    per-case arrays of at least ``cap`` values. Looks at :func:`batch_ends` exactly as the
    runner does; returns ``(measured checks, cases used, why it stopped)``. ``identical``
    makes the checks on the difference exact, as for the ``none`` control, and with
    ``reference`` (a suite that scores the compressed side against the baseline) every check."""
    measured, stopped, upto = [], "cap", 0
    for upto in batch_ends(cap):
        measured = [measure_check(check, b[:upto], c[:upto], higher_is_better=hib, low=low, high=high,
                                  binary=binary, exact=identical and (check.on_drop or reference),
                                  final=upto == cap,
                                  family=family, alpha=alpha, seed=seed)
                    for checks, b, c, hib, low, high, binary in metrics for check in checks]
        reason = None if upto == cap else stop_reason(measured, family, alpha)
        if reason is not None:
            stopped = reason
            break
    return measured, upto, stopped
