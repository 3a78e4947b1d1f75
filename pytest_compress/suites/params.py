"""Declared suite parameters: each suite lists its knobs' domains, and the base class checks them.

``Suite.param_rules = {"steps": Int(2, 8), "threshold": Number(0, 1, low_open=True)}``: a
value outside its domain is a usage error naming the suite, the parameter, the domain and the
value, worded the same for every suite. A rule may also normalise (a single choice where a
list is allowed becomes a one-item list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import CompressUsageError


class _Rule:
    def domain(self) -> str:
        raise NotImplementedError

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def normalise(self, value):
        return value

    def check(self, suite: str, name: str, value) -> Any:
        value = self.normalise(value)
        if not self.accepts(value):
            raise CompressUsageError(f"suite {suite!r}: {name} must be {self.domain()}, got {value!r}")
        return value


@dataclass(frozen=True)
class Int(_Rule):
    """An integer in ``low..high`` (``high=None``: no upper bound); booleans are not integers."""

    low: int
    high: int | None = None

    def domain(self) -> str:
        if self.high is None:
            return "a positive integer" if self.low == 1 else f"an integer >= {self.low}"
        return f"an integer in {self.low}..{self.high}"

    def accepts(self, value) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool) and self.low <= value
                and (self.high is None or value <= self.high))


@dataclass(frozen=True)
class Number(_Rule):
    """A real number in ``[low, high]`` (``low_open``: ``(low, high]``)."""

    low: float
    high: float
    low_open: bool = False

    def domain(self) -> str:
        return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"

    def accepts(self, value) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        above = self.low < value if self.low_open else self.low <= value
        return above and value <= self.high


@dataclass(frozen=True)
class OneOf(_Rule):
    """One of a fixed set of values."""

    choices: tuple

    def domain(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def accepts(self, value) -> bool:
        return isinstance(value, type(self.choices[0])) and value in self.choices


@dataclass(frozen=True)
class ListOf(_Rule):
    """A non-empty list whose items each satisfy ``item`` (``distinct``: no item twice); a single
    item where the list is expected is taken as a list of one when ``single`` is set."""

    item: _Rule
    distinct: bool = False
    single: bool = False

    def domain(self) -> str:
        items = self.item.domain().replace("an integer", "integers").replace("a number", "numbers")
        items = items.replace("a positive integer", "positive integers").replace("one of", "items from")
        return f"a non-empty list of {'distinct ' if self.distinct else ''}{items}"

    def normalise(self, value):
        if self.single and not isinstance(value, (list, tuple)):
            return [value]
        return list(value) if isinstance(value, tuple) else value

    def accepts(self, value) -> bool:
        return (isinstance(value, list) and bool(value) and all(self.item.accepts(v) for v in value)
                and (not self.distinct or len(set(map(repr, value))) == len(value)))


def check_params(suite: str, rules: dict[str, _Rule], params: dict) -> dict:
    """``params`` with each ruled value checked (and normalised)."""
    return {k: (rules[k].check(suite, k, v) if k in rules else v) for k, v in params.items()}
