import random

from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.adv_robustness import PERTURBATIONS, TASKS, perturb, typo


def test_cases_cover_tasks_and_perturbations():
    cases = get_suite("trust.adv_robustness")(n=9).cases()
    assert {(c["task"], c["perturbation"]) for c in cases} == {(t, p) for t in TASKS for p in PERTURBATIONS}
    for c in cases:
        assert c["answer"] in c["labels"] and len(c["options"]) == 2


def test_perturbations():
    rng = random.Random(0)
    text = "The concert was wonderful. I recommend it to everyone."
    swapped = typo(rng, text)
    assert swapped != text and sorted(swapped) == sorted(text) and len(swapped.split()) == len(text.split())
    assert perturb(rng, text, "swap") == "The concert was marvellous. I suggest it to everyone."
    assert perturb(rng, text, "distractor").startswith(text + " ")


def test_robust_accuracy(answered):
    suite = get_suite("trust.adv_robustness")(n=6)
    cases = suite.cases()
    wrong = lambda c: next(l for l in c["labels"] if l != c["answer"])
    picks = [c["answer"] for c in cases[:4]] + [wrong(cases[4]), None]
    scores = [suite.score(c, answered(c, p)) for c, p in zip(cases, picks)]
    assert sum(s["score"] for s in scores) / 6 == 4 / 6
    assert scores[0]["sentiment"] == 1.0 and scores[4]["paraphrase"] == 0.0
    assert scores[5]["refusal"] == 1.0 and scores[5]["score"] == 0.0
