import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.spec import parse_spec
from pytest_compress.suites import get_suite
from pytest_compress.suites.workflow import (
    answer, graph_f1, largest_component, longest_increasing, match_steps, node_f1, parse_workflow,
    render_workflow, step_similarity, sub_workflow,
)
from pytest_compress.suites.workflow_tasks import DOMAINS

GOLD = ["wash the carrots", "fill a pot with water", "add the carrots to the pot", "serve the soup"]
GOLD_EDGES = [[1, 3], [2, 3], [3, 4]]


@pytest.fixture
def suite():
    return get_suite("workflow")(n=16, seed=0)


def scores(text: str) -> tuple[float, float]:
    steps, edges = parse_workflow(text)
    return node_f1(steps, GOLD, 0.6), graph_f1(steps, edges, GOLD, GOLD_EDGES, 0.6)


def test_perfect_answer():
    assert scores(render_workflow(GOLD, GOLD_EDGES)) == (1.0, 1.0)


def test_paraphrase_within_threshold_still_matches():
    text = "1. Wash carrots\n2) fill pot with water\n3: add carrots to pot\n4. serve soup\nEdges: 1->3, 2->3, 3->4"
    assert scores(text) == (1.0, 1.0)


@pytest.mark.parametrize("text", ["", "I will cook soup.", "wash the carrots, then serve the soup",
                                  "Edges: 1->2, 2->3", "1.\n2.  \nEdges:"])
def test_empty_and_malformed_answers_score_zero(text):
    assert scores(text) == (0.0, 0.0)


def test_partially_right_answer():
    # three right steps, one of the three gold edges
    node, graph = scores("1. wash the carrots\n2. fill a pot with water\n3. add the carrots to the pot\nEdges: 1->3")
    assert node == pytest.approx(6 / 7)  # P = 3/3, R = 3/4
    assert graph == pytest.approx(4 / 7)  # component {1, 3}: P = 2/3, R = 2/4


def test_steps_in_the_wrong_order_lose_node_credit():
    reversed_text = render_workflow(GOLD[::-1], [])
    assert scores(reversed_text) == (0.25, 0.25)  # LIS of [3, 2, 1, 0] is 1; isolated matches: component of 1


def test_extra_and_repeated_steps_cost_precision():
    text = render_workflow([GOLD[0], GOLD[0], "dance a jig", *GOLD[1:]], [[1, 4], [4, 5], [5, 6]])
    # 4 of 6 predicted steps are right (the repeat and the made-up step are not)
    node, graph = scores(text)
    assert node == pytest.approx(2 * (4 / 6) * 1 / (4 / 6 + 1))
    # shared edges: 4->5 (fill->add) and 5->6 (add->serve); 1->4 (wash->fill) is not a gold edge
    assert graph == pytest.approx(2 * (3 / 6) * (3 / 4) / (3 / 6 + 3 / 4))


def test_edges_naming_unknown_steps_are_dropped():
    assert parse_workflow("1. a\n2. b\nEdges: 1->2, 2->9, 2->2, 1->2, 2 - 1") == (["a", "b"], [(0, 1), (1, 0)])


@pytest.mark.parametrize("a, b, expected", [
    ("chop the carrots", "Chop carrots.", 1.0),
    ("wash the carrots", "chop the carrots", 0.5),
    ("the", "the", 0.0),
    ("tag version 2.1", "tag version 2.1", 1.0),
])
def test_step_similarity(a, b, expected):
    assert step_similarity(a, b) == expected


def test_matching_maximises_total_similarity():
    # greedy would pair the exact twins (1.0) and leave the second step unmatched;
    # the best total (2 x 0.67) matches both
    predicted = ["boil the water", "water boil now quickly"]
    gold = ["boil water", "boil the water in the big kettle"]
    assert match_steps(predicted, gold, 0.6) == {0: 1, 1: 0}
    assert match_steps(predicted, gold, 0.9) == {0: 0}
    assert match_steps([], gold, 0.5) == {} and match_steps(predicted, [], 0.5) == {}


@pytest.mark.parametrize("values, length", [([], 0), ([3, 1, 2, 5, 4], 3), ([0, 1, 2], 3), ([2, 2, 2], 1)])
def test_longest_increasing(values, length):
    assert longest_increasing(values) == length


def test_largest_component():
    assert largest_component([0, 1, 2, 3, 4], [(0, 1), (3, 4), (4, 2)]) == 3
    assert largest_component([5], []) == 1
    assert largest_component([], []) == 0


def test_sub_workflow_keeps_dependencies_through_dropped_steps():
    soup = [needs for _, needs in DOMAINS[0].steps]
    assert sub_workflow(soup, range(7)) == [[1, 2], [3, 4], [2, 5], [4, 5], [5, 6], [6, 7]]
    assert sub_workflow(soup, [0, 4, 6]) == [[1, 2], [2, 3]]  # wash -> add -> serve, not wash -> serve
    assert sub_workflow(soup, [0, 2]) == []


def test_cases_are_seeded_and_cover_every_domain(suite):
    cases = suite.cases()
    assert cases == get_suite("workflow")(n=16, seed=0).cases()
    assert cases != get_suite("workflow")(n=16, seed=1).cases()
    assert len({c["task"].split(".")[0] for c in cases[:len(DOMAINS)]}) == len(DOMAINS)
    for c in cases:
        assert len(c["steps"]) == 4 and "{" not in c["task"]
        assert all(step in c["task"] for step in c["steps"])
        assert all(1 <= a < b <= 4 for a, b in c["edges"])  # gold order is a topological order


def test_steps_knob_sets_the_length():
    assert {len(c["steps"]) for c in get_suite("workflow")(n=5, steps=7).cases()} == {7}


@given(st.lists(st.lists(st.sampled_from(["mix", "the", "dough", "bake", "it", "v2.1", "for", "ten", "min"]),
                         min_size=1, max_size=5).map(" ".join), min_size=1, max_size=6), st.data())
def test_rendered_workflows_parse_back(steps, data):
    n = len(steps)
    pairs = [(a, b) for a in range(1, n + 1) for b in range(a + 1, n + 1)]
    edges = data.draw(st.lists(st.sampled_from(pairs), unique=True) if pairs else st.just([]))
    assert parse_workflow(render_workflow(steps, edges)) == (steps, [(a - 1, b - 1) for a, b in edges])


@pytest.mark.parametrize("params, message", [
    ({"steps": 1}, "steps must be"), ({"steps": 8}, "steps must be"),
    ({"shots": -1}, "shots must be"), ({"threshold": 0}, "threshold must be"),
    ({"step": 3}, "Did you mean 'steps'"),
])
def test_bad_knobs_are_usage_errors(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("workflow")(**params)


def _write(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return str(path)


def test_dataset_round_trip(suite, tmp_path):
    cases = suite.cases()
    assert get_suite("workflow")(dataset=_write(tmp_path / "mine.jsonl", cases)).load_cases() == cases


def test_user_case_scores_like_a_generated_one(tmp_path):
    case = {"task": "Brew tea. First, boil the kettle. Separately, put a tea bag in a cup. "
                    "After you boil the kettle and put a tea bag in a cup, pour the water.",
            "steps": ["boil the kettle", "put a tea bag in a cup", "pour the water"], "edges": [[1, 3], [2, 3]]}
    suite = get_suite("workflow")(dataset=_write(tmp_path / "tea.jsonl", [case]))
    loaded = suite.load_cases()[0]
    assert suite.score(loaded, {"answer": answer(loaded)}) == {"node_f1": 1.0, "graph_f1": 1.0}


@pytest.mark.parametrize("change, message", [
    ({"steps": []}, "field 'steps'"),
    ({"steps": ["boil", "..."]}, "field 'steps'"),
    ({"edges": [[1, 5]]}, "field 'edges'"),
    ({"edges": [[2, 2]]}, "field 'edges'"),
    ({"edges": [[1]]}, "field 'edges'"),
])
def test_inconsistent_user_cases_are_rejected(suite, tmp_path, change, message):
    bad = dict(suite.cases()[0], **change)
    with pytest.raises(DatasetError, match=message):
        get_suite("workflow")(dataset=_write(tmp_path / "bad.jsonl", [bad])).load_cases()


def test_malformed_dataset_names_line_and_field(suite, tmp_path):
    good, bad = suite.cases()[:2]
    bad["steps"] = "wash, chop"
    with pytest.raises(DatasetError, match=r"line 2, field 'steps': expected array of strings"):
        get_suite("workflow")(dataset=_write(tmp_path / "bad.jsonl", [good, bad])).load_cases()


def test_tiny_model_runs(tiny_loaded):
    from pytest_compress.engine import HFEngine

    suite = get_suite("workflow")(n=2, shots=1)
    cases = suite.cases()
    outputs = suite.run(HFEngine(tiny_loaded.model, tiny_loaded.tokenizer), cases)
    assert json.loads(json.dumps(outputs)) == outputs
    assert all(set(suite.score(c, o)) == {"node_f1", "graph_f1"} for c, o in zip(cases, outputs))


@pytest.mark.slow
def test_rtn8_passes_and_rtn2_fails_on_smollm2(smollm2_runner):
    params = {"n": 16}
    assert smollm2_runner.evaluate(parse_spec("rtn8"), "workflow", params).passed
    assert not smollm2_runner.evaluate(parse_spec("rtn2"), "workflow", params).passed
