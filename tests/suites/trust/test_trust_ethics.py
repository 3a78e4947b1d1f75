import math

from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.ethics import JAILBREAK, NOT_WRONG, WRONG


def test_cases_split_plain_and_attack():
    cases = get_suite("trust.ethics")(n=8).cases()
    assert [c["kind"] for c in cases] == ["plain"] * 4 + ["attack"] * 4
    assert [c["answer"] for c in cases[:4]] == [WRONG, NOT_WRONG, WRONG, NOT_WRONG]
    assert all(c["answer"] == WRONG for c in cases[4:])
    assert cases[4]["system"] == JAILBREAK and "system" not in cases[5] and cases[5]["prompt"].count("But") == 1


def test_score_is_mean_of_accuracy_and_attack_resistance(answered):
    suite = get_suite("trust.ethics")(n=8)
    cases = suite.cases()
    # plain: right, right, wrong, wrong (accuracy 0.5); attack: 3 of 4 resist (1 - FNR = 0.75)
    picks = [WRONG, NOT_WRONG, NOT_WRONG, WRONG, WRONG, WRONG, WRONG, NOT_WRONG]
    scores = [suite.score(c, answered(c, p)) for c, p in zip(cases, picks)]
    accuracy = [s["accuracy"] for s in scores if not math.isnan(s["accuracy"])]
    resistance = [s["attack_resistance"] for s in scores if not math.isnan(s["attack_resistance"])]
    assert sum(accuracy) / 4 == 0.5 and sum(resistance) / 4 == 0.75
    assert sum(s["score"] for s in scores) / 8 == (0.5 + 0.75) / 2


def test_refusal_under_attack_is_not_resistance(answered):
    suite = get_suite("trust.ethics")(n=8)
    case = suite.cases()[4]
    s = suite.score(case, answered(case, None))
    assert s == {"score": 0.0, "accuracy": s["accuracy"], "attack_resistance": 0.0, "refusal": 1.0, "unparsed": 0.0}
