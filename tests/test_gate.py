import numpy as np
import pytest

from pytest_compress.gate import judge
from pytest_compress.limits import Limit
from pytest_compress.results import pair_metric
from pytest_compress.suites.base import Metric


class FakeSuite:
    name = "demo"


def verdict(drop, interval, limit, mode="point", compressed=0.5, comp_interval=(0.4, 0.6)):
    return judge(baseline=0.6, compressed=compressed, drop=drop, interval=interval,
                 comp_interval=comp_interval, limit=limit, mode=mode)


@pytest.mark.parametrize("mode, interval, expected", [
    ("point", (0.01, 0.09), "pass"), ("strict", (0.01, 0.09), "fail"), ("lenient", (0.01, 0.09), "pass"),
    ("point", (0.06, 0.12), "fail"), ("strict", (0.06, 0.12), "fail"), ("lenient", (0.06, 0.12), "fail"),
    ("point", (-0.01, 0.04), "pass"), ("strict", (-0.01, 0.04), "pass"), ("lenient", (-0.01, 0.04), "pass"),
])
def test_decision_modes(mode, interval, expected):
    drop = sum(interval) / 2
    assert verdict(drop, interval, Limit(max_drop=0.05), mode).status == expected


def test_straddling_interval_is_fragile_with_a_hint():
    v = judge(baseline=0.6, compressed=0.56, drop=0.04, interval=(0.0, 0.08), comp_interval=(0.5, 0.6),
              limit=Limit(max_drop=0.05), settle=lambda bound: 400)
    assert v.passed and v.fragile and v.settle_n == 400 and "raise n to about 400" in str(v)


def test_failure_reason_names_the_numbers():
    v = verdict(0.31, (0.25, 0.37), Limit(max_drop=0.10))
    assert v.status == "fail"
    assert v.reasons == ("drop +0.310 [+0.250, +0.370] > max_drop 0.1",)


def test_min_and_max_bound_the_compressed_score():
    assert verdict(0.0, (0, 0), Limit(min=0.8), compressed=0.75, comp_interval=(0.7, 0.8)).status == "fail"
    assert verdict(0.0, (0, 0), Limit(min=0.7), compressed=0.75, comp_interval=(0.7, 0.8)).status == "pass"
    assert verdict(0.0, (0, 0), Limit(max=0.5), compressed=0.75, comp_interval=(0.7, 0.8)).status == "fail"


def test_relative_drop():
    # baseline 0.6, drop 0.06 -> 10% relative
    assert verdict(0.06, (0.05, 0.07), Limit(max_rel_drop=0.05)).status == "fail"
    assert verdict(0.06, (0.05, 0.07), Limit(max_rel_drop=0.15)).status == "pass"


@pytest.mark.parametrize("mode, drop, interval, expected", [
    ("point", 0.08, (0.02, 0.14), "pass"), ("point", -0.08, (-0.14, -0.02), "pass"),
    ("point", 0.12, (0.06, 0.18), "fail"), ("point", -0.12, (-0.18, -0.06), "fail"),
    ("strict", 0.0, (-0.05, 0.05), "pass"), ("strict", 0.0, (-0.12, 0.05), "fail"), ("strict", 0.0, (-0.05, 0.12), "fail"),
    ("lenient", -0.12, (-0.18, -0.05), "pass"), ("lenient", -0.14, (-0.18, -0.11), "fail"),
    ("lenient", 0.14, (0.11, 0.18), "fail"),
])
def test_max_change_is_two_sided(mode, drop, interval, expected):
    v = verdict(drop, interval, Limit(max_change=0.10), mode)
    assert v.status == expected
    assert len(v.reasons) == 2 and not v.suspicious_gain


def test_no_limit_is_ungated_and_gain_is_flagged():
    assert verdict(0.5, (0.4, 0.6), Limit()).status == "ungated"
    v = verdict(-0.2, (-0.3, -0.1), Limit(max_drop=0.05))
    assert v.passed and v.suspicious_gain


def test_identical_outcomes_never_fail():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2, 200).astype(float)
    for mode in ("point", "strict", "lenient"):
        m = pair_metric(FakeSuite, Metric("acc", max_drop=0.0), values, values, Limit(max_drop=0.0), {}, mode, 0)
        assert m.drop == 0 and m.passed


def test_pair_metric_direction_and_nan_cases():
    base = [1.0, 2.0, 3.0, float("nan")]
    comp = [2.0, 3.0, 4.0, 1.0]
    lower = Metric("loss", higher_is_better=False, binary=False)
    m = pair_metric(FakeSuite, lower, base, comp, Limit(max_drop=0.5), {}, "point", 0)
    assert m.drop == pytest.approx(1.0) and not m.passed
    assert len(m.baseline.per_case) == 3


def test_a_gain_beyond_max_drop_fails_when_configured():
    warned = verdict(-0.2, (-0.3, -0.1), Limit(max_drop=0.05))
    failed = judge(baseline=0.6, compressed=0.8, drop=-0.2, interval=(-0.3, -0.1), comp_interval=(0.7, 0.9),
                   limit=Limit(max_drop=0.05), fail_on_gain=True)
    assert warned.passed and not warned.gain_fails
    assert failed.status == "fail" and failed.gain_fails and "compress_on_gain = fail" in failed.reasons[-1]
    small = judge(baseline=0.6, compressed=0.62, drop=-0.02, interval=(-0.05, 0.01), comp_interval=(0.5, 0.7),
                  limit=Limit(max_drop=0.05), fail_on_gain=True)
    assert small.passed  # a gain within the limit is no sign of a broken evaluation
