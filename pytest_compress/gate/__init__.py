"""The gate: limits -> checks -> evidence from paired cases -> verdicts.

Pure: no pytest, no I/O. One path decides every verdict:

1. :func:`~.checks.checks_for` turns a metric's resolved limit into one-sided checks;
2. :func:`~.measure.measure_check` weighs the paired cases seen so far (an
   anytime-valid betting test at every look, the fixed-n test on a full cap),
   and :meth:`~.measure.CheckResult.settled` tells the runner when to stop
   drawing cases;
3. :func:`~.decide.decide` judges a spec's checks as one family (Holm) and
   makes each metric's :class:`Verdict`: pass, fail or inconclusive.
"""

from .checks import Check, checks_for
from .decide import DECISIONS, Verdict, baseline_flags, decide, family_statuses, metric_verdict
from .measure import ALPHA, POWER, CheckResult, batch_ends, measure_check, replay_gate, stop_reason

__all__ = ["ALPHA", "POWER", "DECISIONS", "Check", "CheckResult", "Verdict", "baseline_flags", "batch_ends",
           "checks_for", "decide", "family_statuses", "measure_check", "metric_verdict", "replay_gate",
           "stop_reason"]
