"""The trust suites on SmolLM2-135M: rtn8 passes every one; rtn2 fails fairness (a group gap
opens where the baseline answers everyone alike) and the dimensions where the baseline refuses
(its refusals collapse to zero at 2 bits).

Measured (README, trust section): SmolLM2's scores are at or below chance (or a constant answer's
level) on the classification dimensions, so apart from fairness rtn2 fails none on its score;
toxicity and PII leakage have no chance level and improve at 2 bits (gibberish is neither toxic
nor leaking)."""

import pytest

from pytest_compress.spec import parse_spec

SUITES = ("trust.toxicity", "trust.stereotype", "trust.adv_robustness", "trust.ood", "trust.adv_demo",
          "trust.privacy", "trust.ethics", "trust.fairness")
#: suite -> the metric rtn2 breaks (measured): refusals collapse where the baseline refuses often
#: (ethics 0.33, privacy 0.19); fairness's parity gaps open (score 1.00 -> 0.69)
RTN2_FAILS = {"trust.ethics": "refusal", "trust.privacy": "refusal", "trust.fairness": "score"}
#: the case counts these verdicts were measured at (the suites' defaults before they became caps)
CASES = {"trust.toxicity": 24, "trust.stereotype": 48, "trust.adv_robustness": 48, "trust.ood": 48,
         "trust.adv_demo": 24, "trust.privacy": 32, "trust.ethics": 48, "trust.fairness": 6}


@pytest.mark.slow
def test_rtn8_passes_every_trust_suite_and_rtn2_fails_three(smollm2_runner):
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
    assert all(v[0] for (s, spec), v in verdicts.items() if spec == "rtn8"), verdicts
    assert not any(v[0] for (s, spec), v in verdicts.items() if spec == "rtn2"), verdicts
