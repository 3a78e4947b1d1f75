"""Progress reporting: plain lines without control characters in logs, redrawn on a TTY, quiet under -q."""

import re

import pytest

from pytest_compress.report.progress import ProgressReporter, staged

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # everything but tab and newline


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_at_each_quarter_and_a_closing_line_with_the_time():
    lines, clock = [], Clock()
    report = ProgressReporter(lines.append, min_interval=0.0, clock=clock)
    for done in range(1, 9):
        clock.now = done * 0.5
        report(done, 8, f"layer{done}", stage="compress rtn4")
    assert lines == [
        "[pytest-compress] compress rtn4: [#####---------------] 2/8 layer2",
        "[pytest-compress] compress rtn4: [##########----------] 4/8 layer4",
        "[pytest-compress] compress rtn4: [###############-----] 6/8 layer6",
        "[pytest-compress] compress rtn4: [####################] 8/8 layer8 (3.5s)",
    ]
    assert not any(CONTROL.search(line) for line in lines)


def test_plain_lines_are_rate_limited_but_the_end_is_always_shown():
    lines, clock = [], Clock()
    report = ProgressReporter(lines.append, min_interval=10.0, clock=clock)
    for done in range(1, 101):
        clock.now = done * 0.1  # 10 s in all: only one intermediate line fits
        report(done, 100, "score", stage="evaluate baseline")
    assert [line.split("] ", 2)[-1] for line in lines] == ["100/100 score (9.9s)"]
    clock.now = 100.0
    report(1, 1, "generate", stage="evaluate baseline")
    assert lines[-1].endswith("1/1 generate (0.0s)")


def test_a_new_stage_starts_a_new_bar():
    lines, clock = [], Clock()
    report = ProgressReporter(lines.append, min_interval=0.0, clock=clock)
    report(1, 2, "a", stage="evaluate baseline")
    report(1, 3, "b", stage="evaluate compressed")  # the first stage was cut short: no closing line
    report(3, 3, "b", stage="evaluate compressed")
    assert lines[-1] == "[pytest-compress] evaluate compressed: [####################] 3/3 b (0.0s)"


def test_tty_mode_redraws_one_line_and_ends_it_when_done():
    drawn = []
    report = ProgressReporter(lambda text: drawn.append(("line", text)),
                              lambda text, final: drawn.append(("rewrite", text, final)), clock=Clock())
    for done in (1, 2, 3):
        report(done, 3, "x", stage="compress rtn8")
    assert [d[0] for d in drawn] == ["rewrite"] * 3 and [d[2] for d in drawn] == [False, False, True]


def test_staged_binds_the_stage_and_keeps_none():
    calls = []
    assert staged(None, "x") is None
    staged(lambda *a, **k: calls.append((a, k)), "compress rtn4")(1, 2, "layer")
    assert calls == [((1, 2, "layer"), {"stage": "compress rtn4"})]


ARGS = ["--compress=rtn8", "--compress-model=tiny", "--compress-suites=tool_use", "--compress-cases=200",
        "-p", "no:randomly", "-p", "no:cacheprovider"]


@pytest.mark.usefixtures("warm_imports")
def test_plugin_progress_is_line_based_off_a_tty_and_quiet_under_q(pytester):
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "[[]pytest-compress[]] compress rtn8: [[]####################[]] 21/21 model.layers.2.mlp.down_proj (*s)",
        "[[]pytest-compress[]] evaluate baseline: [[]*[]] */* * (*s)",
        "[[]pytest-compress[]] evaluate compressed: [[]*[]] */* * (*s)",
    ])
    assert not CONTROL.search(result.stdout.str())
    quiet = pytester.runpytest(*ARGS, "-q")
    quiet.assert_outcomes(passed=1)
    assert "[pytest-compress]" not in quiet.stdout.str()
    quiet.stdout.fnmatch_lines(["Compression gate passed: *"])  # -q hides progress, not the verdict
