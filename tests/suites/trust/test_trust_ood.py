import random

from pytest_compress.suites import get_suite
from pytest_compress.suites.trust.ood import IDK, restyle


def test_cases_alternate_style_and_knowledge():
    cases = get_suite("trust.ood")(n=8).cases()
    assert [c["kind"] for c in cases] == ["style", "knowledge"] * 4
    knowledge = [c for c in cases if c["kind"] == "knowledge"]
    assert [c["answer"] == IDK for c in knowledge] == [True, False, True, False]
    assert all(c["labels"][-1] == IDK and "2024" in c["system"] for c in knowledge)


def test_styles():
    rng = random.Random(0)
    text = "The soup was lovely. I loved every minute."
    assert restyle(rng, text, "archaic").startswith("Verily, the soup was most lovely.")
    assert restyle(rng, text, "slang") == "ngl the soup was fire fr, i loved every minute fr"
    shuffled = restyle(rng, text, "shuffled")
    assert sorted(shuffled.split()) == sorted(text.lower().replace(".", "").split())


def test_refusal_aware_accuracy(answered):
    suite = get_suite("trust.ood")(n=4)
    style, future, style2, known = suite.cases()
    s = [suite.score(future, answered(future, IDK)),              # right: unknowable
         suite.score(known, answered(known, IDK)),                # wrong: it is known
         suite.score(known, answered(known, known["answer"])),    # right
         suite.score(style, answered(style, style["answer"])),    # right
         suite.score(style2, answered(style2, None))]             # refused: wrong
    assert [x["score"] for x in s] == [1.0, 0.0, 1.0, 1.0, 0.0]
    assert s[0]["knowledge"] == 1.0 and s[3]["style"] == 1.0 and s[4]["refusal"] == 1.0
