import pytest

from pytest_compress.errors import CompressUsageError
from pytest_compress.suites import get_suite
from pytest_compress.suites.tool_use import gold_call, parse_call


@pytest.fixture
def suite():
    return get_suite("tool_use")(n=40, seed=0)


def test_cases_are_seeded_and_balanced(suite):
    cases = suite.cases()
    assert cases == get_suite("tool_use")(n=40, seed=0).cases()
    assert cases != get_suite("tool_use")(n=40, seed=1).cases()
    assert len({c["tool"] for c in cases}) == 16  # every tool appears
    for c in cases:
        assert c["tool"] in c["options"] and len(set(c["options"])) == 4
        assert all(str(v) in c["request"] for v in c["args"].values())


def _output(case, picked_tool, call):
    return {"choice_logprobs": [0.0 if o == picked_tool else -5.0 for o in case["options"]], "call": call}


def test_perfect_answers(suite):
    case = suite.cases()[0]
    assert suite.score(case, _output(case, case["tool"], gold_call(case))) == {"retrieve": 1, "instruct": 1, "overall": 1}


def test_empty_and_malformed_answers(suite):
    case = suite.cases()[1]
    wrong = next(o for o in case["options"] if o != case["tool"])
    assert suite.score(case, _output(case, wrong, "")) == {"retrieve": 0, "instruct": 0, "overall": 0}
    assert suite.score(case, _output(case, wrong, "I cannot help with that"))["instruct"] == 0
    assert suite.score(case, _output(case, wrong, case["tool"] + "(oops"))["instruct"] == 0


def test_partially_right_call(suite):
    case = next(c for c in suite.cases() if len(c["args"]) >= 2)
    key = next(iter(case["args"]))
    bad = dict(case["args"], **{key: "WRONG"})
    call = f"{case['tool']}(" + ", ".join(f'{k}="{v}"' for k, v in bad.items()) + ")"
    assert suite.score(case, _output(case, case["tool"], call)) == {"retrieve": 1, "instruct": 0, "overall": 0.5}


@pytest.mark.parametrize("text, expected", [
    ('get_weather(city="Oslo", unit="celsius")', ("get_weather", {"city": "Oslo", "unit": "celsius"})),
    ("  `set_timer(minutes='5')` ", ("set_timer", {"minutes": "5"})),
    ("Sure! play_music(song=\"Blue River\")", ("play_music", {"song": "Blue River"})),
    ("set_timer(minutes=5)", ("set_timer", {"minutes": "5"})),
    ("no call here", None),
])
def test_parse_call(text, expected):
    assert parse_call(text) == expected


def test_argument_order_does_not_matter(suite):
    case = next(c for c in suite.cases() if len(c["args"]) >= 2)
    reversed_call = f"{case['tool']}(" + ", ".join(f'{k}="{v}"' for k, v in reversed(case["args"].items())) + ")"
    assert suite.score(case, _output(case, case["tool"], reversed_call))["instruct"] == 1


def test_unknown_parameter_is_a_usage_error():
    with pytest.raises(CompressUsageError, match="Did you mean 'seed'"):
        get_suite("tool_use")(sed=1)
    with pytest.raises(CompressUsageError, match="Did you mean 'tool_use'"):
        get_suite("tool_uses")
