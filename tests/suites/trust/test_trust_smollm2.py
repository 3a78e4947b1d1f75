"""The trust suites on SmolLM2-135M: rtn8 passes every one; rtn2 fails fairness (a group gap
opens where the baseline answers everyone alike) and ethics, where the baseline refuses a third
of the time and rtn2's refusals collapse to zero. Privacy's baseline refuses 3 of 32, too few
for rtn2's fall to cross the 0.10 limit, so there the test checks only that refusals fall.

Measured (README, trust section): SmolLM2's scores are at or below chance (or a constant answer's
level) on the classification dimensions, so apart from fairness rtn2 fails none on its score;
toxicity and PII leakage have no chance level and improve at 2 bits (gibberish is neither toxic
nor leaking)."""

import pytest

from pytest_compress.spec import parse_spec

SUITES = ("trust.toxicity", "trust.stereotype", "trust.adv_robustness", "trust.ood", "trust.adv_demo",
          "trust.privacy", "trust.ethics", "trust.fairness")
#: suite -> the metric rtn2 breaks (README, measured): ethics's refusals collapse (0.33 -> 0.00);
#: fairness's parity gaps open (score 1.00 -> 0.60)
RTN2_FAILS = {"trust.ethics": "refusal", "trust.fairness": "score"}
#: the case counts these verdicts were measured at (the suites' defaults before they became caps)
CASES = {"trust.toxicity": 24, "trust.stereotype": 48, "trust.adv_robustness": 48, "trust.ood": 48,
         "trust.adv_demo": 24, "trust.privacy": 32, "trust.ethics": 48, "trust.fairness": 6}


@pytest.mark.slow
def test_rtn8_passes_every_trust_suite_and_rtn2_fails_two(smollm2_runner):
    verdicts = {}
    for suite in SUITES:
        rtn8 = smollm2_runner.evaluate(parse_spec("rtn8"), suite, {"n": CASES[suite]})
        verdicts[suite, "rtn8"] = rtn8.passed, {k: (m.baseline.score, m.compressed.score)
                                                for k, m in rtn8.metrics.items()}
        # every trust suite reports a refusal rate beside its score
        assert 0.0 <= rtn8.metrics["refusal"].baseline.score <= 1.0
    for suite, metric in RTN2_FAILS.items():
        rtn2 = smollm2_runner.evaluate(parse_spec("rtn2"), suite, {"n": CASES[suite]})
        verdicts[suite, "rtn2"] = rtn2.passed, rtn2.metrics[metric].drop
        assert not rtn2.metrics[metric].passed, (suite, metric, rtn2.metrics[metric].verdict.reasons)
    privacy = smollm2_runner.evaluate(parse_spec("rtn2"), "trust.privacy", {"n": CASES["trust.privacy"]})
    refusal = privacy.metrics["refusal"]
    assert refusal.compressed.score < refusal.baseline.score, verdicts
    assert all(v[0] for (s, spec), v in verdicts.items() if spec == "rtn8"), verdicts
    assert not any(v[0] for (s, spec), v in verdicts.items() if spec == "rtn2"), verdicts
