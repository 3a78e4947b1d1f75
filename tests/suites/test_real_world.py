import json
from collections import deque

import pytest

from pytest_compress.engine.requests import ChoiceScore
from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.spec import parse_spec
from pytest_compress.suites import get_suite
from pytest_compress.suites.environments import KINDS, TextEnvironment, normalise, replay
from pytest_compress.suites.real_world import likeliest


@pytest.fixture
def suite():
    return get_suite("real_world")(n=12, seed=0)


def shortest_plan(case: dict) -> list[str]:
    """Breadth-first search over the environment's states: a shortest action list that reaches the goal."""
    start = frozenset(case["facts"])
    names = TextEnvironment(case).names
    seen, queue = {start}, deque([(start, [])])
    while queue:
        state, plan = queue.popleft()
        if case["subgoals"][-1] in state:
            return plan
        for name in names:
            env = TextEnvironment(dict(case, facts=sorted(state)))
            if env.step(name) and frozenset(env.state) not in seen:
                seen.add(frozenset(env.state))
                queue.append((frozenset(env.state), [*plan, name]))
    raise AssertionError(f"case {case['id']} cannot be solved")


def test_cases_are_seeded_and_cycle_through_the_environments(suite):
    cases = suite.cases()
    assert cases == get_suite("real_world")(n=12, seed=0).cases()
    assert cases != get_suite("real_world")(n=12, seed=1).cases()
    assert [c["env"] for c in cases[:3]] == list(KINDS)
    assert len({c["id"] for c in cases}) == 12


@pytest.mark.parametrize("distractors", [0, 2, 5])
def test_every_case_is_solvable_and_its_shortest_plan_scores_full_marks(distractors):
    suite = get_suite("real_world")(n=9, distractors=distractors)
    for case in suite.cases():
        plan = shortest_plan(case)
        assert len(plan) <= suite.params["max_steps"]
        assert suite.score(case, {"actions": plan}) == {"progress": 1.0, "success": 1.0, "invalid_rate": 0.0}
        # every annotated subgoal lies on the way: no shortcut skips one
        assert set(case["subgoals"]) <= replay(case, plan, 99).reached


def test_distractors_add_actions():
    few, many = (get_suite("real_world")(n=3, distractors=d).cases() for d in (0, 4))
    assert all(len(TextEnvironment(a).names) < len(TextEnvironment(b).names) for a, b in zip(few, many))


def test_admissible_actions_are_those_whose_needs_hold(suite):
    case = next(c for c in suite.cases() if c["env"] == "rooms")
    env = TextEnvironment(case)
    assert env.admissible() and all(a.startswith("go to the ") for a in env.admissible())
    assert set(env.admissible()) < set(env.names)
    before = env.admissible()
    assert env.step(before[0]) and env.admissible() != before


def test_actions_that_would_change_nothing_are_not_admissible(suite):
    case = next(c for c in suite.cases() if c["env"] == "crafting")
    env = TextEnvironment(case)
    gather = shortest_plan(case)[0]
    assert gather in env.admissible() and env.step(gather)
    assert gather not in env.admissible()
    assert env.step(gather)  # still valid when typed: it just changes nothing


def test_empty_episode_scores_nothing(suite):
    case = suite.cases()[0]
    assert suite.score(case, {"actions": []}) == {"progress": 0.0, "success": 0.0, "invalid_rate": 0.0}


def test_invalid_and_malformed_actions_count_and_change_nothing(suite):
    case = next(c for c in suite.cases() if c["env"] == "crafting")
    item = case["subgoals"][-1].removeprefix("you have ")
    out = {"actions": [f"craft {item}", "dance", "", "CRAFT  " + item.upper() + "."]}
    assert suite.score(case, out) == {"progress": 0.0, "success": 0.0, "invalid_rate": 1.0}


def test_partial_progress_rooms(suite):
    case = next(c for c in suite.cases() if c["env"] == "rooms")
    plan = shortest_plan(case)  # go to key room, take key, go back, unlock, go in, take the thing
    assert len(plan) == 6
    out = {"actions": plan[:2] + ["take the nothing"] + plan[2:4]}
    # key held and door unlocked: 2 of 4 subgoals; 1 of 5 actions invalid
    assert suite.score(case, out) == {"progress": 0.5, "success": 0.0, "invalid_rate": 0.2}


def test_subgoal_used_up_still_counts_and_step_limit_cuts(suite):
    case = next(c for c in suite.cases() if c["env"] == "crafting")
    plan = shortest_plan(case)
    assert suite.score(case, {"actions": plan})["progress"] == 1.0  # the materials are gone, but were reached
    limited = get_suite("real_world")(n=12, max_steps=2)
    assert limited.score(case, {"actions": plan}) == {"progress": 2 / 3, "success": 0.0, "invalid_rate": 0.0}


def test_actions_after_the_goal_are_ignored(suite):
    case = next(c for c in suite.cases() if c["env"] == "files")
    plan = shortest_plan(case)
    assert suite.score(case, {"actions": plan + ["nonsense"] * 3})["invalid_rate"] == 0.0


def test_normalise_ignores_case_punctuation_and_spacing():
    assert normalise("  Take the Brass key. ") == "take the brass key"
    assert normalise("mv report.txt ../notes") == "mv report.txt ../notes"


def test_an_answer_in_words_is_read_as_the_action_it_contains(suite):
    case = next(c for c in suite.cases() if c["env"] == "files")
    env = TextEnvironment(case)
    mkdir = next(n for n in env.names if n.startswith("mkdir"))
    assert env.resolve(f"The next action is to {mkdir.upper()}.") == mkdir
    assert env.resolve("I would make a folder") == "i would make a folder"  # names no action: stays invalid
    assert suite.score(case, {"actions": [f"Next: {mkdir}", "cd ..mkdir"]}) == {
        "progress": 1 / 3, "success": 0.0, "invalid_rate": 0.5}


def test_likeliest_uses_per_token_logprob_and_skips_nans():
    names = ["short", "a much longer action", "nan"]
    scores = [ChoiceScore(-3.0, 1, False), ChoiceScore(-4.0, 4, False), ChoiceScore(float("nan"), 1, False)]
    assert likeliest(names, scores) == "a much longer action"
    assert likeliest(names[:1] + names[2:], [scores[0], scores[2]]) == "short"


@pytest.mark.parametrize("params, message", [
    ({"environments": ["kitchen"]}, "environments must be"),
    ({"mode": "free"}, "mode must be"),
    ({"distractors": 9}, "distractors must be"),
    ({"max_steps": 0}, "max_steps must be"),
    ({"n": 0}, "n must be"),
])
def test_bad_knobs_are_usage_errors(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("real_world")(**params)


def _write(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return str(path)


def test_dataset_round_trip(suite, tmp_path):
    cases = suite.cases()
    assert get_suite("real_world")(dataset=_write(tmp_path / "mine.jsonl", cases)).load_cases() == cases


def test_user_environment_runs_through_the_same_scoring(tmp_path):
    case = {"goal": "Light the lamp.", "facts": ["the lamp is dark"],
            "actions": [{"do": "find a match", "adds": ["you have a match"]},
                        {"do": "light the lamp", "needs": ["you have a match"], "adds": ["the lamp is lit"],
                         "removes": ["the lamp is dark"]}],
            "subgoals": ["you have a match", "the lamp is lit"]}
    suite = get_suite("real_world")(dataset=_write(tmp_path / "lamp.jsonl", [case]))
    loaded = suite.load_cases()[0]
    assert loaded["id"] == "lamp-1"
    assert suite.score(loaded, {"actions": ["light the lamp", "find a match", "light the lamp"]}) == {
        "progress": 1.0, "success": 1.0, "invalid_rate": 1 / 3}


@pytest.mark.parametrize("change, message", [
    ({"actions": [{"do": "x", "needs": "a"}]}, "field 'actions'"),
    ({"actions": [{"do": ""}]}, "field 'actions'"),
    ({"actions": []}, "field 'actions'"),
    ({"subgoals": []}, "field 'subgoals'"),
    ({"facts": ["you have a torch"], "subgoals": ["you have a torch"]}, "already holds"),
])
def test_inconsistent_user_cases_are_rejected(suite, tmp_path, change, message):
    bad = dict(suite.cases()[2], **change)
    with pytest.raises(DatasetError, match=message):
        get_suite("real_world")(dataset=_write(tmp_path / "bad.jsonl", [bad])).load_cases()


def test_malformed_dataset_names_line_and_field(suite, tmp_path):
    good, bad = suite.cases()[:2]
    bad["facts"] = "the lamp is dark"
    with pytest.raises(DatasetError, match=r"line 2, field 'facts': expected array of strings"):
        get_suite("real_world")(dataset=_write(tmp_path / "bad.jsonl", [good, bad])).load_cases()


@pytest.mark.parametrize("mode", ["choice", "generate"])
def test_tiny_model_plays_episodes_that_replay_to_the_same_result(tiny_loaded, mode):
    from pytest_compress.engine import HFEngine

    suite = get_suite("real_world")(n=3, max_steps=3, mode=mode)
    cases = suite.cases()
    outputs = suite.run(HFEngine(tiny_loaded.model, tiny_loaded.tokenizer), cases)
    assert json.loads(json.dumps(outputs)) == outputs
    for case, out in zip(cases, outputs):
        episode = replay(case, out["actions"], 3)
        assert len(out["actions"]) == len(episode.valid) <= 3  # the run stopped where the replay does
        assert 0 <= suite.score(case, out)["progress"] <= 1


@pytest.mark.slow
def test_rtn8_passes_and_rtn2_fails_on_smollm2(smollm2_runner):
    params = {"n": 15}
    assert smollm2_runner.evaluate(parse_spec("rtn8"), "real_world", params).passed
    assert not smollm2_runner.evaluate(parse_spec("rtn2"), "real_world", params).passed
