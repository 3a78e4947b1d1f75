import json
import math
import shutil

import pytest
from fakes import FakeEngine

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.plugin import COMPRESS_OPTION, MODEL_OPTION, SUITES_OPTION
from pytest_compress.suites import get_suite
from pytest_compress.suites.bfcl import (
    CATEGORIES, SAMPLE_DIR, call_tokens, check_call, check_calls, gold_calls, normalise, read_bfcl,
)
from pytest_compress.suites.calls import Call, render_json, render_python


def _fn(name, properties, required=()):
    return {"name": name, "description": f"{name} does a thing.",
            "parameters": {"type": "dict", "properties": {k: {"type": t} if isinstance(t, str) else t
                                                          for k, t in properties.items()},
                           "required": list(required)}}


WEATHER = _fn("weather.get_forecast", {"city": "string", "days": "integer", "units": "string"}, ["city", "days"])
ENERGY = _fn("physics.kinetic_energy", {"mass": "float", "velocity": "float", "exact": "boolean"}, ["mass", "velocity"])
AREA = _fn("calculus.area", {"interval": {"type": "array", "items": {"type": "float"}},
                             "tags": {"type": "array", "items": {"type": "string"}}}, ["interval"])
QUERY = _fn("database.query", {"table": "string", "filters": "dict",
                               "changes": {"type": "array", "items": {"type": "dict"}}}, ["table"])


def _weather(**args):
    return check_call(WEATHER, {"weather.get_forecast": {"city": ["Oslo", "Oslo, Norway"], "days": [3],
                                                         "units": ["metric", ""]}},
                      Call("weather.get_forecast", args))


# --- the checker's rules ------------------------------------------------------------------

def test_any_acceptable_value_matches():
    assert _weather(city="Oslo", days=3) is None
    assert _weather(city="Oslo, Norway", days=3) is None
    assert "not one of" in _weather(city="Bergen", days=3)


def test_strings_compare_as_bfcl_normalises_them():
    assert normalise("New York, NY") == normalise("new-york ny") == "newyorkny"
    assert normalise("it's") == 'it"s'
    assert _weather(city="oslo norway", days=3) is None and _weather(city="OSLO", days=3) is None


def test_optional_parameters_may_be_left_out_or_given():
    assert _weather(city="Oslo", days=3) is None
    assert _weather(city="Oslo", days=3, units="metric") is None
    assert "not one of" in _weather(city="Oslo", days=3, units="imperial")
    only_absent = {"weather.get_forecast": {"city": ["Oslo"], "days": [3], "units": [""]}}
    assert "not one of" in check_call(WEATHER, only_absent, Call("weather.get_forecast",
                                                                 {"city": "Oslo", "days": 3, "units": "x"}))


def test_required_and_expected_parameters_must_be_given():
    assert "missing required parameter 'days'" in _weather(city="Oslo")
    no_default = {"weather.get_forecast": {"city": ["Oslo"], "days": [3], "units": ["metric"]}}
    call = Call("weather.get_forecast", {"city": "Oslo", "days": 3})
    assert "'units' left out" in check_call(WEATHER, no_default, call)


def test_unexpected_parameters_are_rejected():
    assert "unexpected parameter 'country'" in _weather(city="Oslo", days=3, country="NO")
    not_in_truth = {"weather.get_forecast": {"city": ["Oslo"], "days": [3]}}  # in the schema, not in the answer
    assert "unexpected parameter 'units'" in check_call(
        WEATHER, not_in_truth, Call("weather.get_forecast", {"city": "Oslo", "days": 3, "units": "metric"}))


def test_names_match_exactly_dots_included():
    assert _weather(city="Oslo", days=3) is None
    assert "called 'get_forecast'" in check_call(
        WEATHER, {"weather.get_forecast": {"city": ["Oslo"], "days": [3]}},
        Call("get_forecast", {"city": "Oslo", "days": 3}))
    assert "called 'weather_get_forecast'" in check_call(
        WEATHER, {"weather.get_forecast": {"city": ["Oslo"], "days": [3]}},
        Call("weather_get_forecast", {"city": "Oslo", "days": 3}))


def test_types_ints_stand_for_floats_only():
    truth = {"physics.kinetic_energy": {"mass": [2.5], "velocity": [4.0], "exact": ["", True]}}
    ok = Call("physics.kinetic_energy", {"mass": 2.5, "velocity": 4})
    assert check_call(ENERGY, truth, ok) is None
    assert "expected type float" in check_call(ENERGY, truth,
                                               Call("physics.kinetic_energy", {"mass": 2.5, "velocity": "4"}))
    assert "expected type integer" in _weather(city="Oslo", days=3.0)  # a float is no integer
    assert "expected type integer" in _weather(city="Oslo", days=True)  # nor is a bool
    assert "expected type boolean" in check_call(ENERGY, truth, Call("physics.kinetic_energy",
                                                                  {"mass": 2.5, "velocity": 4.0, "exact": 1}))


def test_lists_compare_element_wise_in_order():
    truth = {"calculus.area": {"interval": [[1.0, 3.0]], "tags": [["Fast Math", "x"], ""]}}
    assert check_call(AREA, truth, Call("calculus.area", {"interval": [1.0, 3.0]})) is None
    assert check_call(AREA, truth, Call("calculus.area", {"interval": [1, 3]})) is None  # ints in a float array
    assert check_call(AREA, truth, Call("calculus.area", {"interval": [1.0, 3.0], "tags": ["fast-math", "X"]})) is None
    assert "not one of" in check_call(AREA, truth, Call("calculus.area", {"interval": [3.0, 1.0]}))
    assert "not one of" in check_call(AREA, truth, Call("calculus.area", {"interval": [1.0, 3.0, 5.0]}))
    assert "list of type float" in check_call(AREA, truth, Call("calculus.area", {"interval": ["1", "3"]}))


def test_dicts_compare_key_by_key():
    truth = {"database.query": {"table": ["orders"],
                                "filters": [{"status": ["shipped"], "country": ["Norway", "NO"], "limit": ["", 10]}]}}

    def check(filters):
        return check_call(QUERY, truth, Call("database.query", {"table": "orders", "filters": filters}))

    assert check({"status": "shipped", "country": "no"}) is None  # strings normalised, optional key left out
    assert check({"status": "Shipped", "country": "Norway", "limit": 10}) is None
    assert check({"status": "shipped"}) is not None  # a key that is not optional is missing
    assert check({"status": "shipped", "country": "NO", "colour": "red"}) is not None  # an unexpected key
    assert check({"status": "pending", "country": "NO"}) is not None
    assert check(["status", "shipped"]) is not None  # not a dict


def test_lists_of_dicts_compare_dict_by_dict():
    truth = {"database.query": {"table": ["stock"], "changes": [[{"warehouse": ["north"], "delta": [5]},
                                                                  {"warehouse": ["south"], "delta": [-2]}]]}}

    def check(changes):
        return check_call(QUERY, truth, Call("database.query", {"table": "stock", "changes": changes}))

    assert check([{"warehouse": "North", "delta": 5}, {"warehouse": "south", "delta": -2}]) is None
    assert check([{"warehouse": "south", "delta": -2}, {"warehouse": "north", "delta": 5}]) is not None  # in order
    assert check([{"warehouse": "north", "delta": 5}]) is not None


def test_parallel_calls_match_in_any_order_one_to_one():
    truth = [{"weather.get_forecast": {"city": ["Oslo"], "days": [2]}},
             {"weather.get_forecast": {"city": ["Bergen"], "days": [2]}}]
    oslo, bergen = (Call("weather.get_forecast", {"city": c, "days": 2}) for c in ("Oslo", "Bergen"))
    assert check_calls([WEATHER], truth, [oslo, bergen]) is None
    assert check_calls([WEATHER], truth, [bergen, oslo]) is None
    assert "1 call(s), expected 2" in check_calls([WEATHER], truth, [oslo])
    assert check_calls([WEATHER], truth, [oslo, oslo]) is not None  # one call cannot answer twice
    assert "3 call(s)" in check_calls([WEATHER], truth, [oslo, bergen, oslo])


def test_matching_is_not_greedy():
    # the first expected call takes either city, the second only Oslo: a greedy pass that gives
    # Oslo to the first would fail; BFCL's checker is greedy, this one finds the matching
    truth = [{"weather.get_forecast": {"city": ["Oslo", "Bergen"], "days": [2]}},
             {"weather.get_forecast": {"city": ["Oslo"], "days": [2]}}]
    calls = [Call("weather.get_forecast", {"city": c, "days": 2}) for c in ("Oslo", "Bergen")]
    assert check_calls([WEATHER], truth, calls) is None


def test_multiple_needs_the_right_function_of_several():
    other = _fn("weather.current", {"city": "string"}, ["city"])
    truth = [{"weather.get_forecast": {"city": ["Oslo"], "days": [2]}}]
    assert check_calls([other, WEATHER], truth, [Call("weather.get_forecast", {"city": "Oslo", "days": 2})]) is None
    assert "no call of 'weather.get_forecast'" in check_calls([other, WEATHER], truth,
                                                               [Call("weather.current", {"city": "Oslo"})])


def test_variable_values_compare_as_written():
    # an acceptable value of another type than the schema's is a variable name (BFCL's rule)
    fn = _fn("fit", {"x": "integer"}, ["x"])
    truth = {"fit": {"x": ["data['x']"]}}
    assert check_call(fn, truth, Call("fit", {"x": "data['x']"})) is None
    assert check_call(fn, truth, Call("fit", {"x": 3})) is not None


# --- reading BFCL files -------------------------------------------------------------------

def _write(directory, name, questions, answers):
    (directory / "possible_answer").mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("".join(q if isinstance(q, str) else json.dumps(q) + "\n" for q in questions))
    (directory / "possible_answer" / name).write_text(
        "".join(a if isinstance(a, str) else json.dumps(a) + "\n" for a in answers))
    return path


def _q(cid, functions=(WEATHER,), content="Forecast for Oslo, 3 days?", **extra):
    return {"id": cid, "question": [[{"role": "user", "content": content}]], "function": list(functions), **extra}


def _a(cid, *calls):
    return {"id": cid, "ground_truth": list(calls) or [{"weather.get_forecast": {"city": ["Oslo"], "days": [3]}}]}


def test_reads_a_question_file_and_its_twin(tmp_path):
    path = _write(tmp_path, "BFCL_v4_simple_python.json", [_q("simple_python_0"), _q("mine_1")],
                  [_a("mine_1"), _a("simple_python_0")])  # the twin's order does not matter
    cases = read_bfcl(path)
    assert [c["id"] for c in cases] == ["simple_python_0", "mine_1"]
    assert cases[0]["question"] == [{"role": "user", "content": "Forecast for Oslo, 3 days?"}]
    assert cases[0]["category"] == cases[1]["category"] == "simple"


@pytest.mark.parametrize("cid, functions, n_calls, category", [
    ("simple_python_3", 1, 1, "simple"), ("simple_7", 1, 1, "simple"), ("live_simple_0-0-0", 1, 1, "simple"),
    ("multiple_2", 2, 1, "multiple"), ("live_multiple_10-4-2", 2, 1, "multiple"),
    ("parallel_1", 1, 2, "parallel"), ("live_parallel_3-1-0", 2, 2, "parallel"),
    ("parallel_multiple_0", 2, 2, "parallel_multiple"),
    ("my_case", 1, 1, "simple"), ("my_case", 2, 1, "multiple"), ("my_case", 1, 2, "parallel"),
    ("my_case", 2, 2, "parallel_multiple"),
])
def test_category_from_the_id_or_the_counts(tmp_path, cid, functions, n_calls, category):
    offered = [WEATHER, _fn("weather.current", {"city": "string"}, ["city"])][:functions]
    calls = [{"weather.get_forecast": {"city": [c], "days": [2]}} for c in ("Oslo", "Rome")[:n_calls]]
    path = _write(tmp_path, "x.json", [_q(cid, offered)], [_a(cid, *calls)])
    assert read_bfcl(path)[0]["category"] == category


@pytest.mark.parametrize("question, answer, message", [
    ('{"id": "a", "question": \n', _a("a"), r"x.json', line 1: not valid JSON .*one JSON object per line"),
    (_q("a"), '{"id": "a", "ground_truth": [}\n', r"possible_answer/x.json', line 1: not valid JSON"),
    (_q("a"), _a("b"), r"line 1, id 'a': no record with this id in the answer file"),
    ({"question": [], "function": []}, _a("a"), r"line 1, field 'id': expected a non-empty string"),
    (_q("a", question=[[{"role": "user", "content": "x"}], [{"role": "user", "content": "y"}]]), _a("a"),
     r"field 'question': 2 turns; only single-turn"),
    (_q("a", question=[[{"role": "robot", "content": "x"}]]), _a("a"), r"field 'question': each message needs a role"),
    (_q("a", question=[[{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]]), _a("a"),
     r"field 'question': .*end with a user message"),
    (_q("a", function=[]), _a("a"), r"field 'function': expected a non-empty list"),
    (_q("a", function=[{"name": "f"}]), _a("a"), r"field 'function': each function needs a name"),
    (_q("a", function=[_fn("f", {"x": "String"})]), _a("a"), r"parameter 'x' has type 'String'.*Java"),
    (_q("a", function=[_fn("f", {"x": "string"}, ["y"])]), _a("a"), r"required must list parameters"),
    (_q("a", function=[WEATHER, WEATHER]), _a("a"), r"function names must be distinct"),
    (_q("a"), {"id": "a", "ground_truth": []}, r"possible_answer/x.json', line 1, id 'a', field 'ground_truth'"),
    (_q("a"), _a("a", {"weather.current": {"city": ["Oslo"]}}),
     r"calls 'weather.current', which the question does not offer"),
    (_q("a"), _a("a", {"weather.get_forecast": {"city": "Oslo"}}), r"parameter 'city': expected a list of acceptable"),
    (_q("a"), _a("a", {"weather.get_forecast": {}, "x": {}}), r"each expected call is"),
    (_q("simple_java_0"), _a("simple_java_0"), r"id 'simple_java_0', field 'id': Java and JavaScript"),
    (_q("irrelevance_3"), _a("irrelevance_3"), r"field 'id': relevance and irrelevance"),
    (_q("simple_python_1"), _a("simple_python_1", *[{"weather.get_forecast": {"city": ["Oslo"], "days": [1]}}] * 2),
     r"2 expected call\(s\), but the id names the 'simple' category"),
])
def test_problems_name_file_line_id_and_field(tmp_path, question, answer, message):
    path = _write(tmp_path, "x.json", [question], [answer])
    with pytest.raises(DatasetError, match=message):
        read_bfcl(path)


def test_duplicate_and_extra_ids(tmp_path):
    with pytest.raises(DatasetError, match=r"line 2, id 'a': id already used on line 1"):
        read_bfcl(_write(tmp_path, "x.json", [_q("a"), _q("a")], [_a("a")]))
    with pytest.raises(DatasetError, match=r"answer file .*line 2: id 'b' is not in the question file"):
        read_bfcl(_write(tmp_path, "y.json", [_q("a")], [_a("a"), _a("b")]))
    with pytest.raises(DatasetError, match=r"answer file .*line 2: id 'a' already used on line 1"):
        read_bfcl(_write(tmp_path, "z.json", [_q("a")], [_a("a"), _a("a")]))


def test_a_missing_twin_says_where_it_looked(tmp_path):
    path = tmp_path / "BFCL_v4_simple_python.json"
    path.write_text(json.dumps(_q("a")) + "\n")
    with pytest.raises(DatasetError, match=r"no answer file; looked for '.*possible_answer/BFCL_v4_simple_python.json'"
                                           r".*put the answer file there"):
        read_bfcl(path)
    with pytest.raises(DatasetError, match="no such file"):
        read_bfcl(tmp_path / "nope.json")


def test_a_directory_reads_its_files_in_turn(tmp_path):
    _write(tmp_path, "a.json", [_q("a1"), _q("a2"), _q("a3")], [_a("a1"), _a("a2"), _a("a3")])
    _write(tmp_path, "b.json", [_q("b1")], [_a("b1")])
    assert [c["id"] for c in read_bfcl(tmp_path)] == ["a1", "b1", "a2", "a3"]
    _write(tmp_path, "c.json", [_q("a1")], [_a("a1")])
    with pytest.raises(DatasetError, match="id 'a1' is used in two files"):
        read_bfcl(tmp_path)


# --- the committed sample -------------------------------------------------------------------

def test_the_sample_is_bfcl_format_and_covers_the_rules():
    cases = read_bfcl(SAMPLE_DIR)
    assert {c["category"] for c in cases} == set(CATEGORIES) and len(cases) >= 48
    truth = [args for c in cases for call in c["ground_truth"] for args in call.values()]
    values = [v for args in truth for vals in args.values() for v in vals]
    names = [name for c in cases for call in c["ground_truth"] for name in call]
    assert any("." in n for n in names) and "geometry.circumference" in names
    assert "" in values and any(isinstance(v, list) for v in values) and any(isinstance(v, dict) for v in values)
    assert any(len([v for v in vals if v != ""]) > 1 for args in truth for vals in args.values())
    for c in cases:  # every case's answer passes, in either syntax and any order
        gold = gold_calls(c)
        for text in (render_python(gold), render_json(gold), render_python(gold[::-1])):
            assert get_suite("bfcl")().score(c, {"text": text})["accuracy"] == 1, (c["id"], text)


def test_without_a_dataset_the_suite_runs_the_sample():
    suite = get_suite("bfcl")()
    assert suite.load_cases() == read_bfcl(SAMPLE_DIR)
    assert [c["category"] for c in get_suite("bfcl")(n=4).load_cases()] == [
        "multiple", "parallel", "parallel_multiple", "simple"]


def test_the_dataset_may_be_given_with_or_without_the_prefix(tmp_path):
    path = shutil.copytree(SAMPLE_DIR, tmp_path / "bfcl") / "BFCL_v4_parallel.json"
    prefixed = get_suite("bfcl")(dataset=f"bfcl:{path}")
    bare = get_suite("bfcl")(dataset=str(path))
    assert bare.params["dataset"] == prefixed.params["dataset"] == f"bfcl:{path}"
    assert bare.load_cases() == prefixed.load_cases() == read_bfcl(path)
    assert len(get_suite("bfcl")(dataset=str(path), n=3).load_cases()) == 3


def test_other_suites_do_not_read_bfcl_files():
    with pytest.raises(DatasetError, match="suite 'tool_use' does not read 'bfcl' files.*bfcl"):
        get_suite("tool_use")(dataset=f"bfcl:{SAMPLE_DIR}").load_cases()


def test_bad_syntax_is_a_usage_error():
    with pytest.raises(CompressUsageError, match="syntax must be one of 'python', 'json'"):
        get_suite("bfcl")(syntax="xml")


# --- running and scoring ----------------------------------------------------------------------

def test_scores_carry_the_category_and_nan_elsewhere():
    suite = get_suite("bfcl")()
    case = next(c for c in suite.load_cases() if c["category"] == "parallel")
    right = suite.score(case, {"text": render_python(gold_calls(case))})
    assert right["accuracy"] == right["parsed"] == right["parallel"] == 1
    assert all(math.isnan(right[c]) for c in CATEGORIES if c != "parallel")
    wrong = suite.score(case, {"text": render_python(gold_calls(case)[:1])})
    assert (wrong["accuracy"], wrong["parsed"], wrong["parallel"]) == (0, 1, 0)
    assert suite.score(case, {"text": "I do not know."})["parsed"] == 0


class _AnsweringEngine(FakeEngine):
    """Formats prompts like a chat model and answers each case with its gold calls."""

    def __init__(self, answers):
        super().__init__(answer=lambda request: answers[json.loads(request.prompt)["user"]])

    def format(self, user, system=None, shots=()):
        return json.dumps({"system": system, "shots": list(shots), "user": user})


@pytest.mark.parametrize("syntax", ["python", "json"])
def test_run_asks_for_the_calls_with_the_functions_in_the_system_prompt(syntax):
    suite = get_suite("bfcl")(syntax=syntax)
    cases = suite.load_cases()
    render = render_json if syntax == "json" else render_python
    engine = _AnsweringEngine({c["question"][-1]["content"]: render(gold_calls(c)) for c in cases})
    outputs = suite.run(engine, cases)
    assert json.loads(json.dumps(outputs)) == outputs
    for case, request, output in zip(cases, engine.requests, outputs):
        prompt = json.loads(request.prompt)
        assert json.dumps(case["functions"]) in prompt["system"]
        assert ('"arguments"' in prompt["system"]) == (syntax == "json")
        assert request.max_new_tokens == call_tokens(case, syntax) > len(render(gold_calls(case))) // 3
        assert suite.score(case, output)["accuracy"] == 1


def test_a_case_system_message_and_earlier_turns_reach_the_prompt(tmp_path):
    question = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Forecast for Oslo, 3 days?"}]]
    path = _write(tmp_path, "x.json", [_q("a", question=question)], [_a("a")])
    suite = get_suite("bfcl")(dataset=str(path))
    engine = _AnsweringEngine({"Forecast for Oslo, 3 days?": "weather.get_forecast(city='Oslo', days=3)"})
    outputs = suite.run(engine, suite.load_cases())
    prompt = json.loads(engine.requests[0].prompt)
    assert prompt["system"].endswith("\n\nBe brief.") and prompt["shots"] == [["Hi", "Hello!"]]
    assert suite.score(suite.load_cases()[0], outputs[0])["accuracy"] == 1


def test_tiny_model_runs_the_sample(tiny_loaded):
    from pytest_compress.engine import HFEngine

    suite = get_suite("bfcl")(n=4)
    cases = suite.load_cases()
    outputs = suite.run(HFEngine(tiny_loaded.model, tiny_loaded.tokenizer), cases)
    assert json.loads(json.dumps(outputs)) == outputs and all(isinstance(o["text"], str) for o in outputs)
    for case, output in zip(cases, outputs):
        scores = suite.score(case, output)
        assert set(scores) == {"accuracy", "parsed", *CATEGORIES}
        assert scores["accuracy"] in (0, 1) and scores[case["category"]] == scores["accuracy"]


GATED = """
from pytest_compress import agentic_task

@agentic_task("bfcl", dataset="bfcl:{path}", n=4)
def test_calls_survive(task_result):
    assert set(task_result.metrics) == {{"accuracy", "parsed", "simple", "multiple", "parallel", "parallel_multiple"}}
    assert task_result.n == 4 and task_result.metrics["accuracy"].limit.max_drop == 0.10
"""


@pytest.mark.usefixtures("warm_imports")
def test_the_sample_gates_through_the_plugin(pytester):
    pytester.makepyfile(GATED.format(path=SAMPLE_DIR / "BFCL_v4_parallel.json"))
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}=tiny", f"{SUITES_OPTION}=none",
                                "-p", "no:randomly")
    result.stdout.fnmatch_lines(["rtn8  bfcl.accuracy * 4 *max_drop=0.1 *", "rtn8  bfcl.parallel * 4 *UNGATED*",
                                 "Compression gate passed*"])
    # four cases cannot decide a 0.10 limit: the test passes as inconclusive, its body's checks done
    assert result.parseoutcomes().get("inconclusive") == 1 and result.ret == pytest.ExitCode.OK


def test_bfcl_is_chosen_by_name_never_by_all():
    from pytest_compress.suites import select_suites

    assert "bfcl" not in select_suites("all") and "tool_use" in select_suites("all")
    assert select_suites("bfcl,tool_use") == ["bfcl", "tool_use"]
