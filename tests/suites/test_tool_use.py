import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.spec import parse_spec
from pytest_compress.suites import get_suite
from pytest_compress.suites.tool_catalogue import RESULTS, TOOLS
from pytest_compress.suites.tool_use import (
    CHOICE_DIMENSIONS, DIMENSIONS, choices, gold_call, parse_call, parse_json_call, render_call,
)


@pytest.fixture
def suite():
    return get_suite("tool_use")(n=40, seed=0)


def test_cases_are_seeded_and_balanced(suite):
    cases = suite.cases()
    assert cases == get_suite("tool_use")(n=40, seed=0).cases()
    assert cases != get_suite("tool_use")(n=40, seed=1).cases()
    assert len({c["tool"] for c in cases}) == 16  # every tool appears
    assert [c["format"] for c in cases[:4]] == ["str", "json", "str", "json"]
    for c in cases:
        names = [t["name"] for t in c["tools"]]
        assert c["tool"] in names and len(set(names)) == 4
        assert all(str(v) in c["request"] for v in c["args"].values())
        assert c["request"] in c["context"]
        assert all(any(v not in c["args"].values() and v in c["context"] for v in w.values()) for w in c["wrong_args"])
        assert len(c["plan"]) == 3 and set(c["plan"]) <= set(names) and c["plan"] not in c["wrong_plans"]
        assert 1 <= c["done"] < 3
        assert c["result_ok"] != c["result_bad"]
        for d in CHOICE_DIMENSIONS:
            assert len(set(choices(c, d))) == len(choices(c, d)) >= (4 if d != "reason" else 2)
        assert not set(choices(c, "reason")) & set(c["plan"][: c["done"]])  # done tools are not offered


def test_every_result_template_names_every_argument():
    for name, (_, params, _) in TOOLS.items():
        assert all(f"{{{p}}}" in RESULTS[name] for p, _ in params), name


def test_knobs_shape_the_cases():
    cases = get_suite("tool_use")(n=8, n_options=6, plan_steps=4, distractors=2, formats="json").cases()
    for c in cases:
        assert len(c["tools"]) == 6 and len(c["plan"]) == 4 and len(c["wrong_plans"]) == 5
        assert len(c["wrong_args"]) <= 2 and c["format"] == "json"


@pytest.mark.parametrize("params, message", [
    ({"formats": ["xml"]}, "formats must be"),
    ({"formats": []}, "formats must be"),
    ({"plan_steps": 4}, "plan_steps must be"),
    ({"n_options": 1}, "n_options must be"),
    ({"distractors": 0}, "distractors must be"),
    ({"sed": 1}, "Did you mean 'seed'"),
])
def test_bad_knobs_are_usage_errors(params, message):
    with pytest.raises(CompressUsageError, match=message):
        get_suite("tool_use")(**params)


def test_unknown_suite_name_is_a_usage_error():
    with pytest.raises(CompressUsageError, match="Did you mean 'tool_use'"):
        get_suite("tool_uses")


def _output(case, right=DIMENSIONS, call=None):
    """A raw output whose right choice wins exactly for the dimensions in ``right``."""
    out = {d: [0.0 if d in right else -9.0] + [-5.0] * (len(choices(case, d)) - 1) for d in CHOICE_DIMENSIONS}
    out["review"] = [[-1.0, -3.0], [-2.0, -2.5]] if "review" in right else [[-1.0, -3.0], [-1.0, -3.0]]
    out["call"] = gold_call(case) if call is None else call
    return out


def test_perfect_answers(suite):
    for case in suite.cases()[:2]:  # one per format
        assert suite.score(case, _output(case)) == {d: 1.0 for d in (*DIMENSIONS, "overall")}


def test_empty_and_malformed_answers(suite):
    case = suite.cases()[1]
    empty = _output(case, right=(), call="")
    assert suite.score(case, empty) == {d: 0.0 for d in (*DIMENSIONS, "overall")}
    for call in ["I cannot help with that", case["tool"] + "(oops", '{"name": "x", "args": ', "{}", "null"]:
        assert suite.score(case, _output(case, call=call))["instruct"] == 0


def test_partially_right_answers(suite):
    case = next(c for c in suite.cases() if len(c["args"]) >= 2 and c["format"] == "str")
    key = next(iter(case["args"]))
    call = render_call(case["tool"], dict(case["args"], **{key: "WRONG"}), "str")
    scores = suite.score(case, _output(case, right=("retrieve", "plan", "review"), call=call))
    assert scores == {"retrieve": 1, "plan": 1, "review": 1, "reason": 0, "understand": 0, "instruct": 0,
                      "overall": 0.5}


def test_ties_and_nans_count_as_wrong(suite):
    case = suite.cases()[0]
    out = _output(case)
    out["retrieve"] = [-1.0] * len(out["retrieve"])
    out["plan"][0] = math.nan
    out["review"] = [[-1.0, -2.0], [-1.0, -2.0]]
    scores = suite.score(case, out)
    assert (scores["retrieve"], scores["plan"], scores["review"], scores["reason"]) == (0, 0, 0, 1)


def test_a_call_in_the_other_format_does_not_count(suite):
    str_case, json_case = suite.cases()[:2]
    assert suite.score(str_case, _output(str_case, call=render_call(str_case["tool"], str_case["args"], "json")))[
        "instruct"] == 0
    assert suite.score(json_case, _output(json_case, call=render_call(json_case["tool"], json_case["args"], "str")))[
        "instruct"] == 0


@pytest.mark.parametrize("text, expected", [
    ('get_weather(city="Oslo", unit="celsius")', ("get_weather", {"city": "Oslo", "unit": "celsius"})),
    ("  `set_timer(minutes='5')` ", ("set_timer", {"minutes": "5"})),
    ("Sure! play_music(song=\"Blue River\")", ("play_music", {"song": "Blue River"})),
    ("set_timer(minutes=5)", ("set_timer", {"minutes": "5"})),
    ("no call here", None),
])
def test_parse_call(text, expected):
    assert parse_call(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('{"name": "set_timer", "args": {"minutes": "5"}}', ("set_timer", {"minutes": "5"})),
    ('Here: {"name": "set_timer", "args": {"minutes": 5}} done', ("set_timer", {"minutes": "5"})),
    ('{"name": "set_timer", "arguments": {"minutes": "5"}}', None),
    ('{"name": "set_timer", "args": {"minutes": ["5"]}}', ("set_timer", {"minutes": '["5"]'})),  # lists parse
    ('{"name": "set_timer", "args": {"minutes": "5"}', None),
    ("set_timer(minutes=5)", None),
])
def test_parse_json_call(text, expected):
    assert parse_json_call(text) == expected


@given(st.sampled_from(sorted(TOOLS)), st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\n'), max_size=12), max_size=3))
def test_rendered_calls_parse_back(name, args):
    assert parse_json_call(render_call(name, args, "json")) == (name, args)
    if all(v.strip() == v and v and "'" not in v for v in args.values()):
        assert parse_call(render_call(name, args, "str")) == (name, args)


def test_argument_order_does_not_matter(suite):
    case = next(c for c in suite.cases() if len(c["args"]) >= 2 and c["format"] == "str")
    reversed_call = render_call(case["tool"], dict(reversed(case["args"].items())), "str")
    assert suite.score(case, _output(case, call=reversed_call))["instruct"] == 1


def _write(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return str(path)


def test_dataset_round_trip(suite, tmp_path):
    cases = suite.cases()
    user = get_suite("tool_use")(dataset=_write(tmp_path / "mine.jsonl", cases))
    assert user.load_cases() == cases
    # without "format", user cases cycle through the formats knob
    bare = [{k: v for k, v in c.items() if k not in ("format", "id")} for c in cases[:3]]
    loaded = get_suite("tool_use")(dataset=_write(tmp_path / "bare.jsonl", bare), formats=["json"]).load_cases()
    assert [c["format"] for c in loaded] == ["json"] * 3 and loaded[0]["id"] == "bare-1"


def test_user_cases_can_bring_their_own_tools(suite, tmp_path):
    case = {
        "request": "Water the fern with 300 ml.", "tool": "water_plant", "args": {"plant": "fern", "ml": "300"},
        "tools": [{"name": "water_plant", "description": "Water a plant.", "params": ["plant", "ml"]},
                  {"name": "dim_lights", "description": "Dim the lights.", "params": ["level"]},
                  {"name": "open_blinds", "description": "Open the blinds.", "params": []}],
        "context": "The cactus got 50 ml already. Water the fern with 300 ml.",
        "wrong_args": [{"plant": "cactus", "ml": "300"}, {"plant": "fern", "ml": "50"}],
        "task": "First, dim the lights. Finally, water the fern.", "plan": ["dim_lights", "water_plant"],
        "wrong_plans": [["water_plant", "dim_lights"]], "done": 1,
        "result_ok": "fern: +300 ml", "result_bad": "cactus: +300 ml", "format": "json",
    }
    loaded = get_suite("tool_use")(dataset=_write(tmp_path / "garden.jsonl", [case])).load_cases()[0]
    assert choices(loaded, "reason")[0] == '{"next": "water_plant"}'
    assert suite.score(loaded, _output(loaded))["overall"] == 1


@pytest.mark.parametrize("change, message", [
    ({"tool": "nope"}, "field 'tool': 'nope' is not one of the tools"),
    ({"format": "xml"}, "field 'format': must be 'str' or 'json'"),
    ({"args": {"x": "1"}}, "field 'args': needs exactly the parameters"),
    ({"wrong_args": []}, "field 'wrong_args'"),
    ({"plan": ["get_weather", "nope"]}, "field 'plan'"),
    ({"wrong_plans": [["nope"]]}, "field 'wrong_plans'"),
    ({"done": 3}, "field 'done': must be 1..2"),
    (lambda c: {"plan": [t["name"] for t in c["tools"]], "done": 3}, "a reason distractor"),
    ({"tools": [{"name": "a"}]}, "field 'tools': each tool needs"),
])
def test_inconsistent_user_cases_are_rejected(suite, tmp_path, change, message):
    case = suite.cases()[0]
    bad = dict(case, **(change(case) if callable(change) else change))
    with pytest.raises(DatasetError, match=message):
        get_suite("tool_use")(dataset=_write(tmp_path / "bad.jsonl", [bad])).load_cases()


def test_malformed_dataset_names_line_and_field(suite, tmp_path):
    good, bad = suite.cases()[:2]
    del bad["task"]
    with pytest.raises(DatasetError, match=r"line 2: missing field 'task'"):
        get_suite("tool_use")(dataset=_write(tmp_path / "bad.jsonl", [good, bad])).load_cases()


def test_tiny_model_runs_every_dimension(tiny_loaded):
    from pytest_compress.engine import HFEngine

    suite = get_suite("tool_use")(n=4)
    cases = suite.cases()
    outputs = suite.run(HFEngine(tiny_loaded.model, tiny_loaded.tokenizer), cases)
    scores = [suite.score(c, o) for c, o in zip(cases, outputs)]
    assert all(set(s) == {*DIMENSIONS, "overall"} and 0 <= s["overall"] <= 1 for s in scores)
    assert json.loads(json.dumps(outputs)) == outputs


@pytest.mark.slow
def test_rtn8_passes_and_rtn2_fails_on_smollm2(smollm2_runner):
    params = {"n": 40}
    assert smollm2_runner.evaluate(parse_spec("rtn8"), "tool_use", params).passed
    assert not smollm2_runner.evaluate(parse_spec("rtn2"), "tool_use", params).passed
