"""Measured error rates of the gate on simulated paired data: false failures, false passes, power.

Run: ``python -m benchmarks.gate_error_rates [--reps N] [--seed 0] [--quick]``
(or ``python -m benchmarks.run --what gate_stats``).

A seeded Monte-Carlo of the *default session*: every built-in suite with its
default parameters and limits, built from the suite registry, one family of
statistical checks (as one compression spec sees it). Every verdict goes
through the library's own code path: :func:`pytest_compress.gate.replay_gate`
replays each gate's batch schedule and stopping rule on simulated per-case
values, :func:`pytest_compress.gate.family_statuses` decides the family (Holm,
alpha 0.025 per side). Nothing statistical is re-implemented here; the Wilson
intervals around the measured rates are scipy's.

Simulated per-case data (``d`` is the drop, signed so that positive is worse):

* binary metrics: a case is discordant with probability ``disc``; a discordant
  case is a loss (baseline 1, compressed 0) with probability
  ``(disc + drop) / (2 disc)``, else a win; a concordant case has both sides equal,
  ``Bernoulli(0.6)``. So ``E[d] = drop`` and ``P(discordant) = disc`` exactly.
  ``max_change`` metrics (refusal rates) use the same model, the drop a fall.
* continuous metrics: the baseline is uniform in ``[0.3, 0.8]``; with probability
  ``disc`` a case moves by ``drop / disc + U(-0.15, 0.15)`` (zero-inflated), else not
  at all. Values never leave ``[0, 1]`` (parameters that would are refused), so
  ``E[d] = drop`` exactly, with no clipping.
* score-bound metrics (``min`` limits, the agreement suites): the compressed
  model's per-case value is ``score + U(-0.2, 0.2)``; the baseline plays no part in
  the check and is 1.0 (an identical pair then agrees with itself: 1.0).

Scenarios (each ``reps`` seeded sessions, every rate with its 95% Wilson interval):

1. ``none``: identical models (the ``none`` control); no session may fail.
2. ``equal``: every drop 0 (discordance 0.2), scores at 0.75 against ``min`` 0.6.
3. ``drop_twice_limit``: one gated binary or score-bound metric at a time is
   broken by twice its limit (drop ``2 max_drop``, discordance
   ``max(0.2, 2 limit + 0.05)``; score ``min - 0.15``), the rest as in ``equal``:
   power on it and false failures elsewhere.
4. ``at_limit``: every binary drop exactly at its limit (discordance 0.2), every
   score exactly at its ``min``: no check may be decided pass more often than alpha.
   Wrong verdicts (a decided fail of a check whose truth holds, a decided pass of one
   whose truth is at or past its bound) are counted in every scenario, per budget.
5. ``cases_to_decide``: the "about N cases would pass a model with no drop" that a
   report states, read off one short run and then simulated at that cap
   (:data:`CASES_TO_DECIDE_REPS` times ``reps`` runs: one check is cheap).

Budgets: ``cap20`` (20 cases per gate), ``default`` (each suite's ``n``) and
``large`` (:data:`LARGE_CAP` per gate, enough to decide). A session's data are drawn
once at the largest cap and every budget replays a prefix of the same cases, so the
budgets differ only in how many cases they may use. Writes
``benchmarks/results/gate_error_rates.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmarks.common import measured_with, write_result
from pytest_compress.gate import ALPHA, Check, checks_for, family_statuses, replay_gate
from pytest_compress.limits import resolve_limit
from pytest_compress.runner import default_rules
from pytest_compress.suites import Metric, get_suite, select_suites

NAME = "gate_error_rates"
#: cases per gate under the ``large`` budget: enough for every ``equal`` gate to settle
LARGE_CAP = 3000
SMALL_CAP = 20
#: the cap of the short run that the cases-to-decide figure is read from (tool_use's n)
PROBE_CAP = 40
BUDGETS = ("cap20", "default", "large")
BASELINE_RATE = 0.6  # P(success) of a concordant binary case
DISCORDANCE = 0.2
CONT_BASE = (0.3, 0.8)  # the continuous baseline's range
CONT_SPREAD = 0.15  # half-width of a moved continuous case's noise
SCORE_SPREAD = 0.2  # half-width of a score-bound case's noise
SCORE_EQUAL = 0.75
SCORE_REGRESSION_GAP = 0.15  # a broken score sits this far below its min
#: sessions per scenario: about 7 minutes on one core (the target is <= 8)
DEFAULT_REPS, QUICK_REPS = 200, 8
#: scenario 5 is one check, cheap: this many times the sessions, for an interval to read against 80%
CASES_TO_DECIDE_REPS = 4


@dataclass(frozen=True)
class GatedMetric:
    suite: str
    metric: Metric
    checks: tuple  # its pytest_compress.gate.Check objects

    @property
    def name(self) -> str:
        return f"{self.suite}.{self.metric.name}"

    @property
    def on_score(self) -> bool:
        """Gated only on the compressed score itself (min / max), not on a drop."""
        return not any(c.on_drop for c in self.checks)


@dataclass(frozen=True)
class Gate:
    suite: str
    cap: int  # the suite's default n
    metrics: tuple[GatedMetric, ...]
    reference: bool = False  # scored against the baseline (agreement): an identical pair settles every check


@dataclass(frozen=True)
class Truth:
    """What one metric's simulated data are drawn from."""

    drop: float = 0.0
    disc: float = DISCORDANCE
    score: float = SCORE_EQUAL


# -- the default session ---------------------------------------------------------------------

def default_session() -> list[Gate]:
    """Every built-in suite with its default parameters and limits; gates with no check left out."""
    gates = []
    for name in select_suites("all"):
        suite = get_suite(name)()
        rules = default_rules(suite)
        metrics = [GatedMetric(suite.name, m, tuple(checks_for(m.name, resolve_limit(rules, suite.name, m.name)[0])))
                   for m in suite.metrics]
        metrics = tuple(m for m in metrics if m.checks)
        if metrics:
            gates.append(Gate(suite.name, suite.params["n"], metrics, suite.needs_reference))
    return gates


def family_size(gates: list[Gate], identical: bool = False) -> int:
    """Statistical checks in the family (an identical pair settles drop checks exactly, and every check
    of a suite scored against the baseline, as the runner counts)."""
    return sum(1 for g in gates for m in g.metrics for c in m.checks
               if not (identical and (c.on_drop or g.reference)))


def cap_of(gate: Gate, budget: str) -> int:
    return {"cap20": SMALL_CAP, "default": gate.cap, "large": LARGE_CAP}[budget]


# -- simulated data ----------------------------------------------------------------------------

def binary_pair(rng, n: int, truth: Truth):
    if not abs(truth.drop) <= truth.disc <= 1:  # the loss and win probabilities must lie in [0, 1]
        raise ValueError(f"infeasible binary truth {truth}: need |drop| <= disc <= 1")
    u = rng.random(n)
    b = (rng.random(n) < BASELINE_RATE).astype(float)
    c = b.copy()
    loss = u < (truth.disc + truth.drop) / 2
    win = ~loss & (u < truth.disc)
    b[loss], c[loss] = 1.0, 0.0
    b[win], c[win] = 0.0, 1.0
    return b, c


def continuous_pair(rng, n: int, truth: Truth):
    shift = truth.drop / truth.disc
    if shift + CONT_SPREAD > CONT_BASE[0] or shift - CONT_SPREAD < CONT_BASE[1] - 1:
        raise ValueError(f"continuous truth {truth} would push values out of [0, 1]")
    b = rng.uniform(*CONT_BASE, n)
    moved = rng.random(n) < truth.disc
    delta = np.where(moved, shift + rng.uniform(-CONT_SPREAD, CONT_SPREAD, n), 0.0)
    return b, b - delta


def score_pair(rng, n: int, truth: Truth, low: float, high: float):
    c = truth.score + rng.uniform(-SCORE_SPREAD, SCORE_SPREAD, n)
    if c.min() < low or c.max() > high:
        raise ValueError(f"score truth {truth} leaves [{low:g}, {high:g}]")
    return np.ones(n), c


def simulate(rng, gm: GatedMetric, truth: Truth, n: int):
    """``(b, c)`` per-case values of one metric, ``n`` cases, drawn from ``truth``."""
    m = gm.metric
    if gm.on_score:
        return score_pair(rng, n, truth, m.low, m.high)
    if (m.low, m.high) != (0.0, 1.0):
        raise ValueError(f"{gm.name}: the drop models assume values in [0, 1], not [{m.low:g}, {m.high:g}]")
    b, c = (binary_pair if m.binary else continuous_pair)(rng, n, truth)
    # The models draw "higher is better"; mirroring both sides keeps the drop for the other direction.
    return (b, c) if m.higher_is_better else (1.0 - b, 1.0 - c)


def true_excess(check, truth: Truth) -> float:
    """``E[x] - threshold`` of the check under ``truth``: > 0 broken, < 0 holds, 0 at the bound."""
    if check.key in ("max_drop", "max_change (fall)"):
        return truth.drop - check.bound
    if check.key == "max_change (rise)":
        return -truth.drop - check.bound
    if check.key == "min":
        return check.bound - truth.score
    if check.key == "max":
        return truth.score - check.bound
    raise ValueError(f"no truth model for {check.key!r}")


def draw_metric(rng, gm: GatedMetric, truth: Truth, n: int = LARGE_CAP) -> tuple:
    """One entry of ``replay_gate``'s metrics list: ``(checks, b, c, higher_is_better, low, high, binary)``."""
    m = gm.metric
    return (list(gm.checks), *simulate(rng, gm, truth, n), m.higher_is_better, m.low, m.high, m.binary)


def draw_session(gates, truths: dict, seed: int, stream: int, rep: int) -> list[list]:
    """Session ``rep`` of a scenario's stream: per gate, its metrics drawn at :data:`LARGE_CAP` cases."""
    rng = np.random.default_rng((seed, stream, rep))
    return [[draw_metric(rng, gm, truths.get(gm.name, Truth())) for gm in g.metrics] for g in gates]


# -- replay and judge ---------------------------------------------------------------------------

def replay(gate: Gate, data: list, budget: str, family: int, identical: bool = False):
    """``(measured checks, cases used)`` of one gate under ``budget``."""
    if identical:  # the none control: the compressed model is the baseline
        data = [(checks, b, b, *rest) for checks, b, _, *rest in data]
    measured, used, _ = replay_gate(data, cap_of(gate, budget), family, identical=identical,
                                    reference=gate.reference)
    return measured, used


def judge(measured: list) -> list[str]:
    """Status of each measured check: exact ones by their value, the rest decided as one family."""
    statistical = [c for c in measured if not c.exact]
    decided = iter(s for s, _, _ in family_statuses(statistical))
    return [("pass" if c.point_holds else "fail") if c.exact else next(decided) for c in measured]


@dataclass
class Tally:
    """Counts of sessions with each event, and sums to average over them."""

    events: dict
    sums: dict
    sessions: int = 0

    @classmethod
    def empty(cls) -> "Tally":
        return cls({}, {})

    def add(self, events: dict, sums: dict) -> None:
        self.sessions += 1
        for key, happened in events.items():
            self.events[key] = self.events.get(key, 0) + bool(happened)
        for key, value in sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + value

    def summary(self) -> dict:
        out = {key: rate(count, self.sessions) for key, count in self.events.items()}
        out.update({f"mean_{key}": total / self.sessions for key, total in self.sums.items()})
        return out


def rate(count: int, sessions: int) -> dict:
    ci = stats.binomtest(count, sessions).proportion_ci(0.95, method="wilson")
    return {"rate": count / sessions, "wilson_95": [float(ci.low), float(ci.high)], "count": count,
            "sessions": sessions}


def verdict_events(checks: list, statuses: list[str], truths: dict) -> dict:
    """What a session's decided checks did, against the truth they were drawn from."""
    excess = [true_excess(ch, truths.get(name, Truth())) for name, ch in checks]
    return {
        "p_any_fail": "fail" in statuses,
        "p_no_decided_fail": "fail" not in statuses,
        "p_all_pass": all(s == "pass" for s in statuses),
        "p_any_false_fail": any(s == "fail" and e <= 0 for s, e in zip(statuses, excess)),
        "p_any_false_pass": any(s == "pass" and e >= 0 for s, e in zip(statuses, excess)),
    }


def named_checks(gate: Gate) -> list:
    """``(metric full name, check)`` in replay_gate's order (metrics x checks)."""
    return [(gm.name, ch) for gm in gate.metrics for ch in gm.checks]


# -- scenarios -----------------------------------------------------------------------------------

def session_tally(gates, truths: dict, reps: int, seed: int, stream: int, identical: bool = False):
    """Whole sessions drawn from ``truths`` (metric name -> Truth; absent: ``Truth()``).

    Returns ``{budget: Tally}`` and every session's per-gate results ``[rep][budget][gate]``
    (:func:`drop_twice_limit` reuses them)."""
    family = family_size(gates, identical)
    checks = [nc for g in gates for nc in named_checks(g)]
    tallies = {b: Tally.empty() for b in BUDGETS}
    kept = []
    for rep in range(reps):
        data = draw_session(gates, truths, seed, stream, rep)
        per_budget = {}
        for budget in BUDGETS:
            results = [replay(g, d, budget, family, identical) for g, d in zip(gates, data)]
            statuses = judge([c for measured, _ in results for c in measured])
            tallies[budget].add(verdict_events(checks, statuses, truths),
                                {"fraction_inconclusive": statuses.count("inconclusive") / len(statuses),
                                 "cases_per_gate": float(np.mean([used for _, used in results]))})
            per_budget[budget] = results
        kept.append(per_budget)
    return tallies, kept


def breaking_truth(gm: GatedMetric) -> Truth:
    """Twice the limit: a drop of 2 max_drop (2 max_change, as a fall), or a score 0.15 below its min."""
    if gm.on_score:
        (check,) = [c for c in gm.checks if c.key == "min"]
        return Truth(score=check.bound - SCORE_REGRESSION_GAP)
    bound = min(c.bound for c in gm.checks if c.key in ("max_drop", "max_change (fall)"))
    return Truth(drop=2 * bound, disc=max(DISCORDANCE, 2 * bound + 0.05))


def regression_targets(gates) -> list[tuple[int, GatedMetric]]:
    """Every gated binary or score-bound metric (the drop model of a continuous one cannot
    reach twice the limit without clipping), with its gate's index."""
    return [(gi, gm) for gi, g in enumerate(gates) for gm in g.metrics if gm.metric.binary or gm.on_score]


def drop_twice_limit(gates, equal_results, seed: int, equal_stream: int, stream: int) -> dict:
    """One metric broken at a time on the ``equal`` sessions (redrawn from their stream): only the
    broken metric is drawn anew and only its gate replayed; every other gate keeps its ``equal``
    result (common random numbers: the targets differ by the broken metric alone)."""
    family = family_size(gates)
    checks = [nc for g in gates for nc in named_checks(g)]
    out = {}
    for ti, (gi, target) in enumerate(regression_targets(gates)):
        truths = {target.name: breaking_truth(target)}
        broken = [true_excess(ch, truths.get(name, Truth())) > 0 for name, ch in checks]
        tallies = {b: Tally.empty() for b in BUDGETS}
        for rep, per_budget in enumerate(equal_results):
            rng = np.random.default_rng((seed, stream, ti, rep))
            gate_data = draw_session(gates, {}, seed, equal_stream, rep)[gi]
            gate_data = [draw_metric(rng, gm, truths[gm.name]) if gm is target else d
                         for gm, d in zip(gates[gi].metrics, gate_data)]
            for budget in BUDGETS:
                results = list(per_budget[budget])
                results[gi] = replay(gates[gi], gate_data, budget, family)
                statuses = judge([c for measured, _ in results for c in measured])
                events = verdict_events(checks, statuses, truths)
                events["p_target_decided_fail"] = any(s == "fail" for s, bad in zip(statuses, broken) if bad)
                events["p_other_decided_fail"] = any(s == "fail" for s, bad in zip(statuses, broken) if not bad)
                tallies[budget].add(events, {"target_gate_cases": results[gi][1]})
        out[target.name] = {b: t.summary() for b, t in tallies.items()}
        print(f"  {target.name:36s} " + "  ".join(
            f"{b} power {out[target.name][b]['p_target_decided_fail']['rate']:.3f} "
            f"other-fail {out[target.name][b]['p_other_decided_fail']['rate']:.3f}" for b in BUDGETS), flush=True)
    return out


def at_limit_truths(gates) -> dict:
    """Every binary drop at its limit (a fall for max_change), every score at its min."""
    truths = {}
    for g in gates:
        for gm in g.metrics:
            if gm.on_score:
                truths[gm.name] = Truth(score=min(c.bound for c in gm.checks if c.key == "min"))
            elif gm.metric.binary:
                truths[gm.name] = Truth(drop=min(c.bound for c in gm.checks if c.key != "max_change (rise)"))
    return truths


def cases_to_decide(family: int, reps: int, seed: int, stream: int) -> dict:
    """Power of the stated cases-to-decide of one binary max_drop 0.10 check (drop 0, discordance 0.2):
    ``n_to_decide`` is read off one run capped at :data:`PROBE_CAP`; then, with that many cases, the
    check must pass at the family's first Holm level (``family_statuses`` of it alone at alpha / family,
    the level ``n_to_decide`` is computed for)."""
    gm = GatedMetric("sim", Metric("drop_check"), (Check("drop_check", "max_drop", 0.10),))
    probe_data = [draw_metric(np.random.default_rng((seed, stream)), gm, Truth())]
    probe, _ = replay(Gate("sim", PROBE_CAP, (gm,)), probe_data, "default", family)
    n = probe[0].n_to_decide
    gate = Gate("sim", n, (gm,))
    tally = Tally.empty()
    for rep in range(reps):
        data = [draw_metric(np.random.default_rng((seed, stream, rep)), gm, Truth(), n)]
        measured, used = replay(gate, data, "default", family)
        (status, _, _), = family_statuses(measured, alpha=ALPHA / family)
        tally.add({"p_decided_pass": status == "pass"}, {"cases": used})
    return {"probe_cap": PROBE_CAP, "n_to_decide": n, "family": family, **tally.summary()}


# -- report ---------------------------------------------------------------------------------------

def show(label: str, summary: dict, keys: tuple[str, ...]) -> None:
    cells = [f"{k.removeprefix('p_')} {summary[k]['rate']:.3f} [{summary[k]['wilson_95'][0]:.3f},"
             f"{summary[k]['wilson_95'][1]:.3f}]" for k in keys]
    print(f"{label:18s} " + "  ".join(cells) + f"  cases/gate {summary['mean_cases_per_gate']:.1f}"
          f"  inconclusive {summary['mean_fraction_inconclusive']:.3f}", flush=True)


def power_summary(per_target: dict) -> dict:
    """Across the broken targets, per budget: the weakest and mean power, the worst false-failure
    rate elsewhere and the worst false-pass rate."""
    out = {}
    for budget in BUDGETS:
        power = {t: r[budget]["p_target_decided_fail"]["rate"] for t, r in per_target.items()}
        other = {t: r[budget]["p_other_decided_fail"]["rate"] for t, r in per_target.items()}
        false_pass = {t: r[budget]["p_any_false_pass"]["rate"] for t, r in per_target.items()}
        weakest = min(power, key=power.get)
        out[budget] = {"min_power": power[weakest], "min_power_target": weakest,
                       "mean_power": float(np.mean(list(power.values()))),
                       "max_p_other_decided_fail": max(other.values()),
                       "max_p_any_false_pass": max(false_pass.values())}
    return out


def wrong_verdicts(scenarios: dict) -> dict:
    """Scenario 4: sessions with a wrong decided verdict, per budget and scenario."""
    out = {}
    for budget in BUDGETS:
        row = {}
        for name in ("none", "equal", "at_limit"):
            s = scenarios[name][budget]
            row[name] = {"p_any_false_fail": s["p_any_false_fail"], "p_any_false_pass": s["p_any_false_pass"]}
        targets = scenarios["drop_twice_limit"]["targets"].values()
        row["drop_twice_limit_worst_target"] = {
            key: max((t[budget][key] for t in targets), key=lambda r: r["rate"])
            for key in ("p_any_false_fail", "p_any_false_pass")}
        out[budget] = row
    return out


def headline(scenarios: dict, wrong: dict) -> dict:
    out = {"none.p_any_fail": max(scenarios["none"][b]["p_any_fail"]["rate"] for b in BUDGETS)}
    for budget in BUDGETS:
        eq, lim = scenarios["equal"][budget], scenarios["at_limit"][budget]
        out[f"equal.{budget}.p_no_decided_fail"] = eq["p_no_decided_fail"]["rate"]
        out[f"equal.{budget}.p_all_pass"] = eq["p_all_pass"]["rate"]
        out[f"equal.{budget}.cases_per_gate"] = eq["mean_cases_per_gate"]
        power = scenarios["drop_twice_limit"]["summary"][budget]
        out[f"drop_twice_limit.{budget}.min_power"] = power["min_power"]
        out[f"drop_twice_limit.{budget}.mean_power"] = power["mean_power"]
        out[f"drop_twice_limit.{budget}.max_p_other_decided_fail"] = power["max_p_other_decided_fail"]
        out[f"at_limit.{budget}.p_any_false_pass"] = lim["p_any_false_pass"]["rate"]
        out[f"wrong.{budget}.max_p_any_false_fail"] = max(r["p_any_false_fail"]["rate"] for r in wrong[budget].values())
        out[f"wrong.{budget}.max_p_any_false_pass"] = max(r["p_any_false_pass"]["rate"] for r in wrong[budget].values())
    ctd = scenarios["cases_to_decide"]
    out["cases_to_decide.n_to_decide"] = float(ctd["n_to_decide"])
    out["cases_to_decide.p_decided_pass"] = ctd["p_decided_pass"]["rate"]
    return out


def measure_scenarios(gates, reps: int, seed: int) -> dict:
    """Every scenario's summary, printed as it is measured."""
    scenarios = {}
    # Each scenario draws from its own seeded stream, so one can change without moving the others.
    none, _ = session_tally(gates, {}, reps, seed, 1, identical=True)
    scenarios["none"] = {b: t.summary() for b, t in none.items()}
    equal, equal_results = session_tally(gates, {}, reps, seed, 2)
    scenarios["equal"] = {b: t.summary() for b, t in equal.items()}
    for budget in BUDGETS:
        show(f"none {budget}", scenarios["none"][budget], ("p_any_fail", "p_all_pass"))
    for budget in BUDGETS:
        show(f"equal {budget}", scenarios["equal"][budget], ("p_no_decided_fail", "p_all_pass"))
    print("drop_twice_limit (one metric broken at a time):", flush=True)
    targets = drop_twice_limit(gates, equal_results, seed, 2, 3)
    scenarios["drop_twice_limit"] = {"targets": targets, "summary": power_summary(targets)}
    for budget, s in scenarios["drop_twice_limit"]["summary"].items():
        print(f"drop_twice_limit {budget:8s} min power {s['min_power']:.3f} ({s['min_power_target']})  "
              f"mean power {s['mean_power']:.3f}  max other-fail {s['max_p_other_decided_fail']:.3f}  "
              f"max false-pass {s['max_p_any_false_pass']:.3f}", flush=True)
    at_limit, _ = session_tally(gates, at_limit_truths(gates), reps, seed, 4)
    scenarios["at_limit"] = {b: t.summary() for b, t in at_limit.items()}
    for budget in BUDGETS:
        show(f"at_limit {budget}", scenarios["at_limit"][budget], ("p_any_false_pass", "p_any_false_fail"))
    ctd = scenarios["cases_to_decide"] = cases_to_decide(family_size(gates), CASES_TO_DECIDE_REPS * reps, seed, 5)
    low, high = ctd["p_decided_pass"]["wilson_95"]
    print(f"cases_to_decide    n_to_decide {ctd['n_to_decide']} (read at cap {PROBE_CAP})  decided pass "
          f"{ctd['p_decided_pass']['rate']:.3f} [{low:.3f},{high:.3f}] of {ctd['p_decided_pass']['sessions']}  "
          f"mean cases {ctd['mean_cases']:.1f}", flush=True)
    return scenarios


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=None, help=f"sessions per scenario (default {DEFAULT_REPS})")
    ap.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_REPS} sessions per scenario")
    args = ap.parse_args(argv)
    reps = args.reps or (QUICK_REPS if args.quick else DEFAULT_REPS)
    start = time.perf_counter()
    gates = default_session()
    family = family_size(gates)
    print(f"{len(gates)} gates, family of {family} checks, {reps} sessions per scenario, seed {args.seed}", flush=True)
    scenarios = measure_scenarios(gates, reps, args.seed)
    wrong = wrong_verdicts(scenarios)
    for budget, row in wrong.items():
        print(f"wrong verdicts {budget:8s} " + "  ".join(
            f"{name}: false-fail {r['p_any_false_fail']['rate']:.3f} false-pass {r['p_any_false_pass']['rate']:.3f}"
            for name, r in row.items()), flush=True)
    payload = {
        "benchmark": NAME, "seed": args.seed, "reps": reps, "alpha": ALPHA, "family_size": family,
        "budgets": {"cap20": SMALL_CAP, "default": "each suite's n", "large": LARGE_CAP},
        "data_model": {"baseline_rate": BASELINE_RATE, "discordance": DISCORDANCE, "continuous_baseline": CONT_BASE,
                       "continuous_spread": CONT_SPREAD, "score_spread": SCORE_SPREAD, "score_equal": SCORE_EQUAL,
                       "score_regression_gap": SCORE_REGRESSION_GAP},
        "gates": [{"suite": g.suite, "metric": gm.metric.name, "key": ch.key, "bound": ch.bound,
                   "binary": gm.metric.binary, "cap": g.cap} for g in gates for gm in g.metrics for ch in gm.checks],
        "scenarios": scenarios, "wrong_verdicts": wrong, "headline": headline(scenarios, wrong),
        "wall_seconds": time.perf_counter() - start,
        "measured_with": measured_with(" ".join(["python -m benchmarks.gate_error_rates",
                                                 *(sys.argv[1:] if argv is None else argv)])),
    }
    print(f"wall {payload['wall_seconds']:.0f}s; wrote {write_result(NAME, payload)}")
    return payload


if __name__ == "__main__":
    main()
