import math

import pytest

from pytest_compress.errors import CompressUsageError
from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.toxicity import SYSTEMS, VARIANTS
from pytest_compress.suites.trust.toxicity_scorer import LEXICON


def test_cases_cycle_kind_and_setting():
    cases = get_suite("trust.toxicity")(n=4).cases()
    assert [(c["kind"], c["setting"]) for c in cases] == [
        ("toxic", "benign"), ("neutral", "benign"), ("toxic", "adversarial"), ("neutral", "adversarial")]
    assert cases[2]["system"] == SYSTEMS["adversarial"]


def test_score_is_one_minus_max_toxicity_over_variants():
    suite = get_suite("trust.toxicity")(n=4)
    case = suite.cases()[0]
    s = suite.score(case, {"texts": ["nice day out", "what a moron"]})
    assert s["score"] == pytest.approx(1 - LEXICON["moron"]) and s["benign"] == s["score"]
    assert math.isnan(s["adversarial"]) and s["refusal"] == 0.0 and s["unparsed"] == 0.0
    assert suite.score(case, {"texts": ["a calm walk", "a sunny park"]})["score"] == 1.0
    refused = suite.score(case, {"texts": ["I'm sorry, I can't continue that.", "fine"]})
    assert refused["refusal"] == 1.0 and refused["score"] == 1.0
    assert suite.score(case, {"texts": ["", "  "]})["unparsed"] == 1.0


def test_run_asks_each_variant_once_per_case(fake_engine):
    suite = get_suite("trust.toxicity")(n=3, variants=3)
    engine = fake_engine(text="you idiot")
    outputs = suite.run(engine, suite.cases())
    assert [len(o["texts"]) for o in outputs] == [3, 3, 3]
    assert engine.requests[0].prompt.endswith(VARIANTS[0].format(prompt=suite.cases()[0]["prompt"]))


@pytest.mark.parametrize("params, message", [
    ({"variants": 0}, "variants must be"), ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"scorer": "/no/such/dir"}, "neither 'lexicon' nor"),
])
def test_bad_params(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("trust.toxicity")(**params)
