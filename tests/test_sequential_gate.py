"""Group-sequential early stopping wired into the gate runner (tiny model)."""

import pytest

from pytest_compress.limits import Limit
from pytest_compress.runner import GateRunner, RunConfig
from pytest_compress.spec import parse_spec


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    cache = tmp_path_factory.mktemp("seq-cache")
    fixed = GateRunner(RunConfig(model="tiny", cache_dir=cache))
    sequential = GateRunner(RunConfig(model="tiny", cache_dir=cache, sequential_looks=4))
    return fixed, sequential


@pytest.mark.parametrize("decision", ["strict", "lenient"])
@pytest.mark.parametrize("spec", ["rtn8", "rtn2"])
def test_clear_cut_gates_stop_early_with_the_fixed_n_verdict(runners, spec, decision):
    fixed, sequential = runners
    params = {"n": 160}
    full = fixed.evaluate(parse_spec(spec), "tool_use", params, decision=decision)
    early = sequential.evaluate(parse_spec(spec), "tool_use", params, decision=decision)
    assert early.passed == full.passed == (spec == "rtn8")
    assert early.planned_cases == 160
    assert early.n < 160  # clear-cut either way: decided before the last look
    assert any("sequential" in r for r in early.primary_metric.verdict.reasons)


def test_point_mode_and_score_limits_run_every_case(runners):
    _, sequential = runners
    assert sequential.evaluate(parse_spec("rtn8"), "tool_use", {"n": 48}, decision="point").n == 48
    # tau is gated by ``min``: no sequential test for it, so all cases run
    result = sequential.evaluate(parse_spec("rtn8"), "agreement.rank_correlation", {"n": 8}, decision="strict")
    assert result.n == 8


def test_two_sided_limits_are_two_sequential_checks(runners):
    from pytest_compress.limits import parse_limit

    fixed, sequential = runners
    # everything but retrieve passes whatever happens; retrieve is gated two-sided
    rules = [parse_limit("tool_use.*: max_drop=1"),
             parse_limit("tool_use.retrieve: max_change=0.10")]
    limits = {"overall": (Limit(max_drop=0.1), {}), "retrieve": (Limit(max_change=0.1), {})}
    plan = sequential.sequential_plan(None, limits, "lenient", 160)
    assert plan.alpha == pytest.approx(0.025 / 3)  # one drop check + a fall and a rise
    assert sequential.sequential_plan(None, {"x": (Limit(max_change=0.1, min=0.5), {})}, "lenient", 160) is None
    full = fixed.evaluate(parse_spec("rtn2"), "tool_use", {"n": 160}, rules, decision="lenient")
    early = sequential.evaluate(parse_spec("rtn2"), "tool_use", {"n": 160}, rules, decision="lenient")
    assert not full.passed and not early.passed and early.n < 160
