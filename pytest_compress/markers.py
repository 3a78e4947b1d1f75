"""Marker shorthands: ``@agentic_task("tool_use", n=300)``, ``@trust_task("privacy")``,
``@compress_task("agreement.rank_correlation", min=0.8)``.

Keywords are the suite's parameters (``n``, ``seed``, ...), limit keys
(``max_drop``, ``max_rel_drop``, ``min``, ``max``) and ``decision``; they take
precedence over the CLI and ini. The bare ``pytest.mark.*`` forms work too.
"""

from __future__ import annotations

import pytest

from .errors import CompressUsageError
from .gate.decide import DECISIONS
from .limits import LIMIT_KEYS, LimitRule, limit_value

AGENTIC = "agentic_task"
TRUST = "trust_task"
GENERAL = "compress_task"
MARKERS = (AGENTIC, TRUST, GENERAL)


def agentic_task(name: str, **kwargs):
    """Mark a test to receive ``task_result`` for the agentic suite ``name``."""
    return getattr(pytest.mark, AGENTIC)(name, **kwargs)


def trust_task(name: str, **kwargs):
    """Mark a test to receive ``task_result`` for the trust suite ``trust.<name>``."""
    return getattr(pytest.mark, TRUST)(name, **kwargs)


def compress_task(name: str, **kwargs):
    """Mark a test to receive ``task_result`` for any suite or metric family ``name``."""
    return getattr(pytest.mark, GENERAL)(name, **kwargs)


def suite_of(marker) -> str:
    """The suite name a marker refers to (``trust_task("privacy")`` -> ``trust.privacy``)."""
    if not marker.args or not isinstance(marker.args[0], str):
        raise TypeError(f"@{marker.name} needs the suite name as its first argument, e.g. @{marker.name}('tool_use')")
    name = marker.args[0]
    if marker.name == TRUST and not name.startswith("trust."):
        name = f"trust.{name}"
    return name


def marker_args(marker) -> str:
    """``('tool_use', n=5)``: the marker as written, for messages."""
    parts = [repr(a) for a in marker.args] + [f"{k}={v!r}" for k, v in marker.kwargs.items()]
    return f"({', '.join(parts)})"


def marker_request(item):
    """``(suite, params, rules, decision)`` from the test's compress marker (closest wins)."""
    marker = next((m for m in item.iter_markers() if m.name in MARKERS), None)
    if marker is None:
        raise CompressUsageError(
            f"{item.nodeid} uses task_result but has no @agentic_task/@trust_task/@compress_task marker "
            "naming its suite"
        )
    try:
        suite = suite_of(marker)
    except TypeError as exc:
        raise CompressUsageError(str(exc)) from None
    kwargs = dict(marker.kwargs)
    decision = kwargs.pop("decision", None)
    if decision is not None and decision not in DECISIONS:
        raise CompressUsageError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    values = tuple(limit_value(k, kwargs.pop(k), f"@{marker.name}({suite!r})") for k in LIMIT_KEYS if k in kwargs)
    rules = [LimitRule(suite, values, "marker")] if values else []
    return suite, kwargs, rules, decision
