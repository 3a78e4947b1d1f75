import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.suites import get_suite
from pytest_compress.suites.long_context import (
    CHARS_PER_TOKEN, answers_right, exact_match, parse_answer_lines, rouge1_recall,
)

SUITES = ("needle", "multi_question", "passage_retrieval")


def write_jsonl(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


# -- shared scorers ------------------------------------------------------------------
@pytest.mark.parametrize("prediction, answer, em, recall", [
    (" moth 47.", "moth 47", 1.0, 1.0),                      # perfect
    ("Moth 47", "moth 47", 1.0, 1.0),                        # case does not count
    (" moth 47. It was a calm spring.", "moth 47", 1.0, 1.0),  # only the first sentence counts
    ("", "moth 47", 0.0, 0.0),                               # empty
    (" 47.", "moth 47", 0.0, 0.5),                           # partially right
    (" heron 47", "moth 47", 0.0, 0.5),
    (" moth moth 47", "moth 47", 0.0, 1.0),                  # recall clips repeated words
    (" the moth 47", "moth 47", 0.0, 1.0),
    (". moth 47", "moth 47", 0.0, 0.0),                      # malformed: an empty first sentence
    (" ??!", "moth 47", 0.0, 0.0),
])
def test_exact_match_and_rouge1_recall(prediction, answer, em, recall):
    assert exact_match(prediction, answer) == em
    assert rouge1_recall(prediction, answer) == pytest.approx(recall)


def test_rouge1_recall_of_an_answer_without_words_is_undefined():
    assert rouge1_recall("anything", "...") != rouge1_recall("anything", "...")  # NaN
    assert exact_match("...", "...") == 0.0


@pytest.mark.parametrize("name", SUITES)
def test_cases_are_seeded(name):
    suite = get_suite(name)
    assert suite(n=6, seed=0).cases() == suite(n=6, seed=0).cases()
    assert suite(n=6, seed=0).cases() != suite(n=6, seed=1).cases()
    assert len({c["id"] for c in suite(n=6).cases()}) == 6


@pytest.mark.parametrize("name", SUITES)
def test_generated_cases_round_trip_through_a_dataset_file(tmp_path, name):
    cases = get_suite(name)(n=5, seed=3).cases()
    path = write_jsonl(tmp_path / "cases.jsonl", cases)
    assert get_suite(name)(dataset=str(path)).load_cases() == cases
    assert len(get_suite(name)(dataset=str(path), n=2).load_cases()) == 2


# -- needle ----------------------------------------------------------------------------
def test_needle_grid_depth_length_and_distractors():
    suite = get_suite("needle")(n=8, context_lengths=[200, 800], depths=[0.0, 1.0], distractors=2)
    cases = suite.cases()
    assert [(c["context_length"], c["depth"]) for c in cases[:4]] == [(200, 0.0), (200, 1.0), (800, 0.0), (800, 1.0)]
    for c in cases:
        sentences = re.split(r"(?<=\.) ", c["context"])
        needle = f"{c['answer_prefix']} {c['answer']}."
        assert sentences.count(needle) == 1
        assert sentences.index(needle) == (0 if c["depth"] == 0 else len(sentences) - 1)
        assert c["context"].count("The pass code for the ") == 3  # the needle and two distractors
        assert c["question"] == f"What is the pass code for the {c['answer_prefix'].split('for the ')[1][:-3]}?"
        size = len(c["context"]) / CHARS_PER_TOKEN
        assert c["context_length"] - 1 <= size <= c["context_length"] + 60


def test_needle_scores_hand_made_answers():
    suite = get_suite("needle")(n=1)
    case = suite.cases()[0]
    assert suite.score(case, {"answer": f" {case['answer']}."}) == {"exact_match": 1.0, "rouge1_recall": 1.0}
    assert suite.score(case, {"answer": ""}) == {"exact_match": 0.0, "rouge1_recall": 0.0}
    number = case["answer"].split()[-1]
    assert suite.score(case, {"answer": f" {number}."}) == {"exact_match": 0.0, "rouge1_recall": pytest.approx(1 / 3)}


@pytest.mark.parametrize("params, message", [
    ({"context_lengths": []}, "context_lengths must be a non-empty list"),
    ({"context_lengths": [512, -1]}, "context_lengths must be a non-empty list"),
    ({"depths": [0.5, 1.5]}, r"depths must be a non-empty list of numbers in \[0, 1\]"),
    ({"distractors": 20}, "distractors must be an integer in 0..8"),
])
def test_needle_rejects_bad_knobs(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("needle")(**params).cases()


def test_needle_dataset_needs_an_answer_with_words(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"context": "x", "question": "q?", "answer": "--"}])
    with pytest.raises(DatasetError, match="case 'bad-1': answer has no words"):
        get_suite("needle")(dataset=str(path)).load_cases()


# -- multi_question ---------------------------------------------------------------------
def test_multi_question_cases_are_right_arithmetic():
    for case in get_suite("multi_question")(n=5, questions=6, max_operand=20).cases():
        assert len(case["questions"]) == len(case["answers"]) == 6
        for q, a in zip(case["questions"], case["answers"]):
            x, y = re.fullmatch(r"What is (\d+) \+ (\d+)\?", q).groups()
            assert int(a) == int(x) + int(y) and 1 <= int(x) <= 20 and 1 <= int(y) <= 20


@given(st.lists(st.from_regex(r"[0-9a-z][0-9a-z ]{0,8}", fullmatch=True), min_size=1, max_size=12))
def test_answer_sheet_round_trips_through_the_parser(answers):
    suite = get_suite("multi_question")
    sheet = suite.answer_sheet({"questions": ["Name it?"] * len(answers), "answers": answers})
    assert parse_answer_lines(sheet) == {i: a.strip() for i, a in enumerate(answers, 1)}


def test_arithmetic_answer_sheets_restate_the_sum():
    case = {"questions": ["What is 3 + 4?", "What is 9 - 2?", "Why?"], "answers": ["7", "7", "no"]}
    sheet = get_suite("multi_question").answer_sheet(case)
    assert sheet == "A1: 3 + 4 = 7\nA2: 9 - 2 = 7\nA3: no"
    assert get_suite("multi_question")(n=1).score(case, {"text": sheet}) == {"accuracy": 1.0, "answered": 1.0}


def test_multi_question_scores_hand_made_sheets():
    suite = get_suite("multi_question")(n=1, questions=4)
    case = dict(suite.cases()[0], answers=["7", "12", "0", "3"])
    score = lambda text: suite.score(case, {"text": text})
    assert score("A1: 7\nA2: 12\nA3: 0\nA4: 3") == {"accuracy": 1.0, "answered": 1.0}
    assert score("") == {"accuracy": 0.0, "answered": 0.0}
    assert score("A1: 7.\nA2: 13\nA4: 3 apples") == {"accuracy": 0.5, "answered": 0.75}
    assert score("A1: 7\nA1: 8\nA2: twelve") == {"accuracy": 0.25, "answered": 0.5}  # first answer wins
    assert score("Q1: What is 3 + 4?\nQ2: What is 5 + 7?") == {"accuracy": 0.0, "answered": 0.0}  # malformed


@pytest.mark.parametrize("gold, given, right", [
    ("12", "12", True), ("12", "12.", True), ("12", "12 apples", True), ("12", " 12 ", True),
    ("12", "7 + 5 = 12", True), ("12", "12 = 7 + 5", False),
    ("12", "121", False), ("12", "1 2", False), ("12", None, False), ("12", "", False),
])
def test_answers_right(gold, given, right):
    assert answers_right(gold, given) is right


def test_multi_question_dataset_checks_question_and_answer_counts(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"questions": ["a?", "b?"], "answers": ["1"]}])
    with pytest.raises(DatasetError, match="2 questions but 1 answers"):
        get_suite("multi_question")(dataset=str(path)).load_cases()


# -- passage_retrieval -----------------------------------------------------------------------
def test_passage_cases_name_the_person_of_exactly_one_passage():
    for case in get_suite("passage_retrieval")(n=10, n_passages=6).cases():
        assert len(case["passages"]) == 6 and 1 <= case["answer"] <= 6
        person = re.search(r"of ([A-Z]\w+ [A-Z]\w+)\?|does ([A-Z]\w+ [A-Z]\w+)|was ([A-Z]\w+ [A-Z]\w+)",
                           case["question"])
        name = next(g for g in person.groups() if g)
        holders = [i for i, p in enumerate(case["passages"], 1) if name in p]
        assert holders == [case["answer"]]


def test_passage_filler_lengthens_passages():
    short = get_suite("passage_retrieval")(n=2, n_passages=4).cases()
    long = get_suite("passage_retrieval")(n=2, n_passages=4, filler_tokens=50).cases()
    assert all(len(p) >= 200 for c in long for p in c["passages"])
    assert sum(map(len, long[0]["passages"])) > sum(map(len, short[0]["passages"])) + 4 * 150


def test_passage_scores_the_most_likely_label():
    suite = get_suite("passage_retrieval")(n=1)
    case = dict(suite.cases()[0], passages=["a", "b", "c", "d"], answer=2)
    assert suite.score(case, {"choice_logprobs": [-3.0, -0.5, -2.0, -4.0]}) == {"accuracy": 1.0}
    assert suite.score(case, {"choice_logprobs": [-0.1, -0.5, -2.0, -4.0]}) == {"accuracy": 0.0}
    assert suite.score(case, {"choice_logprobs": [-1.0, -1.0, -1.0, -1.0]}) == {"accuracy": 0.0}  # ties: first


def test_passage_dataset_checks_the_answer_number(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"passages": ["a", "b"], "question": "q?", "answer": 3}])
    with pytest.raises(DatasetError, match=r"answer 3 is not a passage number \(1..2\)"):
        get_suite("passage_retrieval")(dataset=str(path)).load_cases()
    with pytest.raises(CompressUsageError, match="n_passages must be an integer >= 2"):
        get_suite("passage_retrieval")(n_passages=1).cases()


# -- the engine path, on the project's tiny model --------------------------------------------
@pytest.mark.parametrize("name, params", [
    ("needle", {"context_lengths": [64], "depths": [0.5]}), ("multi_question", {"questions": 3}),
    ("passage_retrieval", {"n_passages": 3}),
])
def test_suites_run_end_to_end_on_the_tiny_model(tiny_loaded, name, params):
    from pytest_compress.engine import HFEngine

    suite = get_suite(name)(n=2, **params)
    cases = suite.cases()
    outputs = suite.run(HFEngine(tiny_loaded.model, tiny_loaded.tokenizer), cases)
    assert len(outputs) == 2
    json.dumps(outputs)  # raw outputs are cached as JSON
    for case, output in zip(cases, outputs):
        scores = suite.score(case, output)
        assert set(scores) == {m.name for m in suite.metrics}
        assert all(0.0 <= v <= 1.0 for v in scores.values())


@pytest.mark.slow
def test_rtn8_passes_and_rtn2_fails_the_long_context_suites(smollm2_runner):
    from pytest_compress.spec import parse_spec

    for name, params in {"needle": {"n": 18}, "multi_question": {"n": 12}, "passage_retrieval": {"n": 30}}.items():
        rtn8 = smollm2_runner.evaluate(parse_spec("rtn8"), name, params)
        rtn2 = smollm2_runner.evaluate(parse_spec("rtn2"), name, params)
        assert rtn8.passed, (name, {k: (m.baseline.score, m.compressed.score) for k, m in rtn8.metrics.items()})
        assert not rtn2.passed, (name, {k: (m.baseline.score, m.compressed.score) for k, m in rtn2.metrics.items()})
