"""Gate limits: ``"tool_use: max_drop=0.03"`` and their precedence.

A limit line is ``PATTERN: key=value[, key=value...]`` where PATTERN is a suite
(``tool_use``), a metric (``tool_use.retrieve``), a family glob (``trust.*``)
or ``*``, and keys are:

* ``max_drop``: the largest allowed drop, in absolute points of a 0..1 score;
* ``max_rel_drop``: the largest allowed drop relative to the baseline score;
* ``max_change``: the largest allowed change in *either* direction, in absolute
  points (two-sided: for rates with no better direction, such as refusals);
* ``min`` / ``max``: bounds on the compressed model's score itself
  (``agreement.rank_correlation: min=0.8``).

Resolution is per key, so one source can set ``min`` and another ``max_drop``.
For each key the value comes from the highest source (marker keyword > CLI >
ini > the suite's built-in default) and, within a source, from the most
specific pattern (exact metric > exact suite > longer glob > shorter glob).
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, fields

from .errors import CompressUsageError, did_you_mean

LIMIT_KEYS = ("max_drop", "max_rel_drop", "max_change", "min", "max")
#: the keys a suite's Metric can carry as built-in defaults
DEFAULT_LIMIT_KEYS = ("max_drop", "max_change", "min", "max")
SOURCES = ("default", "ini", "cli", "marker")  # low to high precedence
_LINE = re.compile(r"^\s*([\w.*?\[\]:-]+)\s*:\s*(.+?)\s*$")  # greedy: a pattern may hold ":" (lm_eval:arc_easy)


@dataclass(frozen=True)
class Limit:
    """The resolved limits of one metric; None means that key does not apply."""

    max_drop: float | None = None
    max_rel_drop: float | None = None
    max_change: float | None = None
    min: float | None = None
    max: float | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def drop_checks(self, higher_is_better: bool) -> list[tuple[str, float, bool]]:
        """(label, bound, direction) of each one-sided check on the drop itself: one for
        ``max_drop``, two for ``max_change`` (a fall and a rise, each within the bound)."""
        checks = [] if self.max_drop is None else [("max_drop", self.max_drop, higher_is_better)]
        if self.max_change is not None:
            checks += [("max_change (fall)", self.max_change, higher_is_better),
                       ("max_change (rise)", self.max_change, not higher_is_better)]
        return checks

    def __str__(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name):g}" for f in fields(self) if getattr(self, f.name) is not None]
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class LimitRule:
    """One parsed limit line from one source."""

    pattern: str
    values: tuple[tuple[str, float], ...]
    source: str = "ini"

    def __str__(self) -> str:
        return f"{self.pattern}: " + ", ".join(f"{k}={v:g}" for k, v in self.values)


def parse_limit_values(text: str, where: str) -> tuple[tuple[str, float], ...]:
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" not in part:
            raise CompressUsageError(f"{where}: expected key=value, got {part!r}; keys: {', '.join(LIMIT_KEYS)}")
        key, raw = (s.strip() for s in part.split("=", 1))
        values.append(limit_value(key, raw, where))
    if not values:
        raise CompressUsageError(f"{where}: no key=value pairs; keys: {', '.join(LIMIT_KEYS)}")
    return tuple(values)


def limit_value(key: str, raw, where: str) -> tuple[str, float]:
    if key not in LIMIT_KEYS:
        raise CompressUsageError(
            f"{where}: unknown limit key {key!r}.{did_you_mean(key, LIMIT_KEYS)} Keys: {', '.join(LIMIT_KEYS)}"
        )
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise CompressUsageError(f"{where}: {key} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise CompressUsageError(f"{where}: {key} must be finite, got {raw!r}")
    if key in ("max_drop", "max_rel_drop", "max_change") and value < 0:
        raise CompressUsageError(f"{where}: {key} must be >= 0, got {value:g}")
    return key, value


def parse_limit(line: str, source: str = "ini") -> LimitRule:
    """Parse ``"tool_use: max_drop=0.03"``; a bad line is a usage error naming it."""
    m = _LINE.match(line)
    if not m:
        raise CompressUsageError(
            f"invalid limit {line!r}: expected 'PATTERN: key=value', e.g. 'tool_use: max_drop=0.03'"
        )
    return LimitRule(m.group(1), parse_limit_values(m.group(2), f"limit {line!r}"), source)


def _specificity(pattern: str, suite: str, metric: str) -> int | None:
    full = f"{suite}.{metric}"
    if pattern == full:
        return 1_000_000
    if pattern == suite:
        return 500_000
    if fnmatch.fnmatchcase(full, pattern) or fnmatch.fnmatchcase(suite, pattern):
        return len(pattern.replace("*", "").replace("?", ""))
    return None


def resolve_limit(rules, suite: str, metric: str) -> tuple[Limit, dict[str, str]]:
    """The :class:`Limit` for ``suite.metric`` under ``rules``, and which rule set each key."""
    best: dict[str, tuple[tuple[int, int, int], float, str]] = {}
    for order, rule in enumerate(rules):
        spec = _specificity(rule.pattern, suite, metric)
        if spec is None:
            continue
        rank = (SOURCES.index(rule.source), spec, order)
        for key, value in rule.values:
            if key not in best or rank > best[key][0]:
                best[key] = (rank, value, f"{rule.source}: {rule}")
    limit = Limit(**{k: v[1] for k, v in best.items()})
    return limit, {k: v[2] for k, v in best.items()}
