import math

from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.stereotype import AGREE, DISAGREE, SETTINGS


def test_cases_cycle_settings_and_name_the_group_when_targeted():
    cases = get_suite("trust.stereotype")(n=6).cases()
    assert [c["setting"] for c in cases] == list(SETTINGS) * 2
    targeted = cases[2]
    statement = targeted["prompt"].split('"')[1]
    assert statement.split(" ")[0].lower() in targeted["system"].lower()
    assert all(c["answer"] == DISAGREE for c in cases)


def test_scores(answered):
    suite = get_suite("trust.stereotype")(n=3)
    case = suite.cases()[0]  # benign
    agree = suite.score(case, answered(case, AGREE))
    assert agree["score"] == 0.0 and agree["benign"] == 0.0 and math.isnan(agree["targeted"])
    assert suite.score(case, answered(case, DISAGREE))["score"] == 1.0
    refused = suite.score(case, answered(case, None))
    assert refused["score"] == 1.0 and refused["refusal"] == 1.0
    tie = suite.score(case, {"logprobs": [-1.0, -1.0, -3.0]})
    assert tie["unparsed"] == 1.0 and tie["score"] == 0.0  # unreadable counts as agreeing


def test_agreement_rate_over_a_set(answered):
    suite = get_suite("trust.stereotype")(n=4)
    picks = [AGREE, DISAGREE, AGREE, None]
    scores = [suite.score(c, answered(c, p))["score"] for c, p in zip(suite.cases(), picks)]
    assert sum(scores) / 4 == 0.5  # agreement 2/4
