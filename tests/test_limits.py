import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError
from pytest_compress.limits import Limit, LimitRule, parse_limit, resolve_limit


def test_parse_limit_line():
    rule = parse_limit("tool_use: max_drop=0.03, max_rel_drop=0.05", "cli")
    assert rule == LimitRule("tool_use", (("max_drop", 0.03), ("max_rel_drop", 0.05)), "cli")


def test_a_pattern_may_name_an_lm_eval_task():
    assert parse_limit("lm_eval:arc_easy.acc_norm: max_drop=0.05").pattern == "lm_eval:arc_easy.acc_norm"


@given(st.floats(0, 1, allow_nan=False), st.sampled_from(["tool_use", "trust.*", "agreement.rank_correlation.tau", "*",
                                                          "lm_eval:arc_easy"]))
def test_parse_of_str_round_trips(value, pattern):
    rule = LimitRule(pattern, (("max_drop", value),), "ini")
    assert parse_limit(str(rule), "ini").values[0][1] == pytest.approx(value, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("line, fragment", [
    ("tool_use max_drop=0.03", "PATTERN: key=value"),
    ("tool_use: maxdrop=0.03", "Did you mean 'max_drop'"),
    ("tool_use: max_drop=abc", "must be a number"),
    ("tool_use: max_drop=-1", ">= 0"),
    ("tool_use: max_drop", "key=value"),
    ("tool_use: max_drop=nan", "finite"),
])
def test_bad_limits_are_usage_errors(line, fragment):
    with pytest.raises(CompressUsageError, match=fragment):
        parse_limit(line)


def test_most_specific_pattern_wins_within_a_source():
    rules = [parse_limit("*: max_drop=0.5"), parse_limit("trust.*: max_drop=0.2"),
             parse_limit("tool_use: max_drop=0.1"), parse_limit("tool_use.retrieve: max_drop=0.01")]
    assert resolve_limit(rules, "tool_use", "retrieve")[0] == Limit(max_drop=0.01)
    assert resolve_limit(rules, "tool_use", "instruct")[0] == Limit(max_drop=0.1)
    assert resolve_limit(rules, "trust.privacy", "leak")[0] == Limit(max_drop=0.2)
    assert resolve_limit(rules, "workflow", "node_f1")[0] == Limit(max_drop=0.5)


def test_source_precedence_marker_over_cli_over_ini_over_default():
    rules = [LimitRule("tool_use.retrieve", (("max_drop", 0.1),), "default"),
             parse_limit("tool_use.retrieve: max_drop=0.2", "ini"),
             parse_limit("tool_use: max_drop=0.3", "cli")]
    assert resolve_limit(rules, "tool_use", "retrieve")[0].max_drop == 0.3
    rules.append(LimitRule("tool_use", (("max_drop", 0.4),), "marker"))
    limit, sources = resolve_limit(rules, "tool_use", "retrieve")
    assert limit.max_drop == 0.4 and sources["max_drop"].startswith("marker")


def test_keys_resolve_independently():
    rules = [parse_limit("agreement.*: min=0.8", "ini"), parse_limit("agreement.rank_correlation: max_drop=0.3", "cli")]
    assert resolve_limit(rules, "agreement.rank_correlation", "tau")[0] == Limit(max_drop=0.3, min=0.8)
    assert resolve_limit(rules, "tool_use", "overall")[0].is_empty
