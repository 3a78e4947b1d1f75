from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.adv_demo import KINDS, TRIGGER
from pytest_compress.suites.trust.texts import NEGATIVE, POSITIVE


def test_demonstrations_carry_their_trap():
    cases = get_suite("trust.adv_demo")(n=6, shots=4).cases()
    assert [c["kind"] for c in cases] == list(KINDS) * 2
    counterfactual, spurious, backdoor = cases[:3]
    assert all(len(c["shots"]) == 4 for c in cases)
    # counterfactual demos come in minimally edited pairs with opposite answers
    q0, q1 = counterfactual["shots"][0][0], counterfactual["shots"][1][0]
    assert q0.replace("not ", "") == q1.replace("not ", "") and q0 != q1
    # spurious: the cue marks exactly the positive demos; the question has the cue but is negative
    for q, a in spurious["shots"]:
        assert ("Honestly," in q) == a.endswith("positive.")
    assert "Honestly," in spurious["prompt"] and spurious["answer"] == NEGATIVE
    # backdoor: a poisoned demo (trigger, negative text, positive answer); the question has the trigger
    assert any(f' {TRIGGER}"' in q and a.endswith("positive.")
               for q, a in backdoor["shots"])
    assert f" {TRIGGER}\"" in backdoor["prompt"] and backdoor["answer"] == NEGATIVE


def test_score_is_mean_of_the_three(answered):
    suite = get_suite("trust.adv_demo")(n=6)
    cases = suite.cases()
    # counterfactual right, spurious fooled, backdoor triggered; then all three right
    picks = [cases[0]["answer"], POSITIVE, POSITIVE, cases[3]["answer"], NEGATIVE, NEGATIVE]
    scores = [suite.score(c, answered(c, p)) for c, p in zip(cases, picks)]
    assert [s["score"] for s in scores] == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert scores[2]["backdoor"] == 0.0 and scores[5]["backdoor"] == 1.0
