import math

import pytest

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.fairness import (
    check_case, demographic_parity_difference, equalized_odds_difference,
)

# A hand-made table: group a has 4 people, group b has 4.
#        person: a1 a2 a3 a4 b1 b2 b3 b4
GROUPS = ["a", "a", "a", "a", "b", "b", "b", "b"]
LABELS = [1, 1, 0, 0, 1, 1, 0, 0]
PREDS = [1, 1, 1, 0, 1, 0, 0, 0]
# Counted by hand: P(pred=1|a) = 3/4, P(pred=1|b) = 1/4 -> DPD = 0.5.
# TPR: a 2/2, b 1/2 -> 0.5; FPR: a 1/2, b 0/2 -> 0.5 -> EOD = 0.5.


def test_demographic_parity_by_hand():
    assert demographic_parity_difference(PREDS, GROUPS) == pytest.approx(0.5)
    assert demographic_parity_difference([1, 0, 1, 0], ["a", "a", "b", "b"]) == 0.0


def test_equalized_odds_by_hand():
    assert equalized_odds_difference(PREDS, LABELS, GROUPS) == pytest.approx(0.5)
    # TPR equal (1 vs 1), FPR a 1/2 vs b 0/2: EOD is the larger gap, 0.5; DPD only 0.25.
    preds = [1, 1, 1, 0, 1, 1, 0, 0]
    assert equalized_odds_difference(preds, LABELS, GROUPS) == pytest.approx(0.5)
    assert demographic_parity_difference(preds, GROUPS) == pytest.approx(0.25)


def test_equalized_odds_skips_outcomes_a_group_lacks():
    # group b has no label-0 member: only the TPR gap (1 - 0) counts
    assert equalized_odds_difference([1, 0, 0], [1, 0, 1], ["a", "a", "b"]) == 1.0
    assert math.isnan(equalized_odds_difference([1, 0], [1, 0], ["a", "b"]))


def test_three_groups_use_max_minus_min():
    preds, groups = [1, 1, 0, 1, 0, 0], ["a", "a", "b", "b", "c", "c"]
    assert demographic_parity_difference(preds, groups) == 1.0


def direct(preds, labels, groups):
    """The same two numbers, computed the long way with explicit counts."""
    def rate(cond):
        members = [i for i in range(len(preds)) if cond(i)]
        return sum(preds[i] for i in members) / len(members)
    gs = sorted(set(groups))
    pr = [rate(lambda i, g=g: groups[i] == g) for g in gs]
    tpr = [rate(lambda i, g=g: groups[i] == g and labels[i] == 1) for g in gs]
    fpr = [rate(lambda i, g=g: groups[i] == g and labels[i] == 0) for g in gs]
    return max(pr) - min(pr), max(max(tpr) - min(tpr), max(fpr) - min(fpr))


def output_for(case, preds):
    """Raw choice output where profile i answers Yes (pred 1) or No (pred 0)."""
    return {"logprobs": [[0.0, -2.0, -5.0] if p else [-2.0, 0.0, -5.0] for p in preds]}


def test_suite_score_matches_direct_computation():
    suite = get_suite("trust.fairness")(n=3)
    for case in suite.cases():
        labels = [int(p["label"] == "Yes") for p in case["profiles"]]
        groups = [p["group"] for p in case["profiles"]]
        preds = [int(p["group"] == "male") for p in case["profiles"]]  # biased: yes for men only
        s = suite.score(case, output_for(case, preds))
        dpd, eod = direct(preds, labels, groups)
        assert (s["dpd"], s["eod"]) == (pytest.approx(dpd), pytest.approx(eod)) == (1.0, 1.0)
        assert s["score"] == 0.0 and s["accuracy"] == 0.5
        fair = suite.score(case, output_for(case, labels))  # perfect predictions
        assert fair == {"score": 1.0, "dpd": 0.0, "eod": 0.0, "accuracy": 1.0, "refusal": 0.0, "unparsed": 0.0}


def test_refused_and_tied_answers_are_not_favourable():
    suite = get_suite("trust.fairness")(n=1)
    case = suite.cases()[0]
    n = len(case["profiles"])
    refusals = {"logprobs": [[-3.0, -3.0, 0.0]] * n}
    s = suite.score(case, refusals)
    assert s["refusal"] == 1.0 and s["dpd"] == 0.0 and s["accuracy"] == 0.0
    ties = {"logprobs": [[-1.0, -1.0, -5.0]] * n}
    assert suite.score(case, ties)["unparsed"] == 1.0


def test_tables_are_matched_and_balanced():
    for case in get_suite("trust.fairness")(n=5, profiles=8).cases():
        profiles = case["profiles"]
        assert len(profiles) == 8
        by_group = {g: sorted((p["description"].rsplit(" Sex:", 1)[0], p["label"]) for p in profiles
                              if p["group"] == g) for g in ("male", "female")}
        assert by_group["male"] == by_group["female"]  # the same people, only the attribute differs
        assert [p["label"] for p in profiles].count("Yes") == 4


def test_bad_table_size_and_user_tables():
    with pytest.raises(CompressUsageError, match="multiple of 4"):
        get_suite("trust.fairness")(profiles=6)
    case = get_suite("trust.fairness")(n=1).cases()[0]
    with pytest.raises(DatasetError, match="favourable"):
        check_case({**case, "favourable": "Maybe"})
    with pytest.raises(DatasetError, match="two groups"):
        check_case({**case, "profiles": [dict(p, group="x") for p in case["profiles"]]})
    with pytest.raises(DatasetError, match="each profile"):
        check_case({**case, "profiles": [{"description": "x", "group": "a"}]})
