"""Declared suite parameters: each rule accepts exactly its domain, every suite's defaults lie in
their domains, and a value outside one is refused in the same words for every suite."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError
from pytest_compress.suites import get_suite, suite_names
from pytest_compress.suites.params import Int, ListOf, Number, OneOf, check_params

values = st.one_of(st.integers(-5, 300), st.floats(-2, 2, allow_nan=False), st.booleans(), st.text(max_size=3),
                   st.none(), st.lists(st.integers(-2, 20), max_size=4))


@given(st.integers(-3, 10), st.one_of(st.none(), st.integers(-3, 10)), values)
def test_int_accepts_exactly_the_integers_in_its_range(low, high, value):
    inside = (type(value) is int and value >= low and (high is None or value <= high))
    assert Int(low, high).accepts(value) == inside


@given(st.floats(-1, 1), st.floats(-1, 1), st.booleans(), values)
def test_number_accepts_exactly_the_numbers_in_its_interval(low, high, low_open, value):
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and (low < value if low_open else low <= value) and value <= high
    assert Number(low, high, low_open).accepts(value) == inside


@given(st.lists(st.integers(-2, 20), max_size=5), st.booleans())
def test_a_list_rule_needs_items_in_their_domain_and_distinct_when_asked(items, distinct):
    rule = ListOf(Int(1), distinct=distinct)
    ok = bool(items) and all(v >= 1 for v in items) and (not distinct or len(set(items)) == len(items))
    assert rule.accepts(items) == ok


def test_a_single_choice_where_a_list_is_allowed_is_a_list_of_one():
    rule = ListOf(OneOf(("str", "json")), single=True)
    assert rule.check("s", "formats", "json") == ["json"]
    assert rule.check("s", "formats", ("str", "json")) == ["str", "json"]


@pytest.mark.parametrize("rule, value, words", [
    (Int(2, 8), 9, "steps must be an integer in 2..8, got 9"),
    (Int(1), 0, "steps must be a positive integer, got 0"),
    (Int(2), True, "steps must be an integer >= 2, got True"),
    (Number(0, 1, low_open=True), 0, "steps must be a number in (0, 1], got 0"),
    (OneOf(("a", "b")), "c", "steps must be one of 'a', 'b', got 'c'"),
    (ListOf(Int(1), distinct=True), [1, 1], "steps must be a non-empty list of distinct positive integers, got [1, 1]"),
    (ListOf(Number(0, 1)), [], "steps must be a non-empty list of numbers in [0, 1], got []"),
])
def test_a_refusal_names_the_suite_the_parameter_its_domain_and_the_value(rule, value, words):
    with pytest.raises(CompressUsageError) as info:
        check_params("workflow", {"steps": rule}, {"steps": value})
    assert str(info.value) == f"suite 'workflow': {words}"


@pytest.mark.parametrize("name", [n for n in suite_names() if not n.startswith("lm_eval")])
def test_every_suite_declares_rules_for_its_own_parameters_and_its_defaults_keep_them(name):
    suite = get_suite(name)
    assert set(suite.param_rules) <= set(suite.defaults), "a rule for a parameter the suite does not have"
    check_params(name, suite.param_rules, dict(suite.defaults))  # raises if a default is outside its domain
    with pytest.raises(CompressUsageError, match=f"suite '{name}': n must be a positive integer, got 0"):
        suite(n=0)
