"""Progress of long work: compression (per layer) and evaluation (per batch).

The library reports progress as ``progress(done, total, label)`` callbacks; the
runner adds ``stage`` (``compress rtn4``, ``evaluate baseline``). This module
turns them into output without knowing about pytest:

* on a terminal (``rewrite`` given) one line is redrawn in place and left
  showing the finished stage;
* elsewhere (CI logs) plain lines only, no carriage returns or escape codes:
  at each quarter of a stage, at most one line per ``min_interval`` seconds,
  and always a closing line with the elapsed time.

The plugin builds no reporter at all under ``-q``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

PREFIX = "[pytest-compress]"
BAR_WIDTH = 20


@dataclass
class _Stage:
    name: str
    total: int
    started: float
    last_line: float
    last_quarter: int = 0


class ProgressReporter:
    """``reporter(done, total, label, stage="")``; see the module docstring.

    Args:
        line: writes one full line (no newline needed).
        rewrite: ``rewrite(text, final)`` redraws the current terminal line (``final``: then
            end it); None selects plain-line mode.
        min_interval: plain-line mode: seconds between intermediate lines.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, line: Callable[[str], None], rewrite: Callable[[str, bool], None] | None = None, *,
                 min_interval: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.line, self.rewrite = line, rewrite
        self.min_interval, self.clock = min_interval, clock
        self._stage: _Stage | None = None

    def __call__(self, done: int, total: int, label: str, stage: str = "") -> None:
        now = self.clock()
        name = stage or "work"
        current = self._stage
        if current is None or current.name != name or current.total != total or done <= 1:
            current = self._stage = _Stage(name, total, now, now)
        text = self._text(current, done, label, now)
        if self.rewrite is not None:
            self.rewrite(text, done >= total)  # a finished stage's line stays; the next starts below
        else:
            quarter = (4 * done) // max(total, 1)
            due = quarter > current.last_quarter and now - current.last_line >= self.min_interval
            if done >= total or due:
                self.line(text)
                current.last_quarter, current.last_line = quarter, now
        if done >= total:
            self._stage = None

    @staticmethod
    def _text(stage: _Stage, done: int, label: str, now: float) -> str:
        filled = BAR_WIDTH * done // max(stage.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        text = f"{PREFIX} {stage.name}: [{bar}] {done}/{stage.total} {label}"
        if done >= stage.total:
            text += f" ({now - stage.started:.1f}s)"
        return text


def staged(progress: Callable | None, stage: str) -> Callable[[int, int, str], None] | None:
    """``progress`` bound to ``stage`` (None stays None: no reporting at all)."""
    if progress is None:
        return None

    def report(done: int, total: int, label: str) -> None:
        progress(done, total, label, stage=stage)

    return report
