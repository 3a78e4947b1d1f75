"""Marker shorthands: ``@agentic_task("tool_use", n=300)``, ``@trust_task("privacy")``,
``@compress_task("agreement.rank_correlation", min=0.8)``.

Keywords are the suite's parameters (``n``, ``seed``, ...), limit keys
(``max_drop``, ``max_rel_drop``, ``min``, ``max``) and ``decision``; they take
precedence over the CLI and ini. The bare ``pytest.mark.*`` forms work too.
"""

from __future__ import annotations

import pytest

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
