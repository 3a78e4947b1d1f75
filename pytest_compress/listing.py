"""``pytest --compress-list``: methods, suites, metrics, defaults, and the effective configuration."""

from __future__ import annotations

from .gate import DECISIONS
from .spec import VALID_FORMS


def listing(settings) -> list[str]:
    from .compress.registry import built_methods
    from .suites import get_suite, suite_names

    lines = ["pytest-compress", "", "Compression specs:"]
    lines += [f"  {form}" for form in VALID_FORMS]
    lines.append(f"  built in this version: {', '.join(built_methods())}")
    lines += ["", "Suites (metric: direction, default limit):"]
    for name in suite_names():
        suite = get_suite(name)
        params = ", ".join(f"{k}={v}" for k, v in suite.defaults.items())
        lines.append(f"  {name} [{suite.family}] ({params}); score = {suite.primary}")
        for m in suite.metrics:
            direction = "higher is better" if m.higher_is_better else "lower is better"
            limits = ", ".join(f"{k}={getattr(m, k):g}" for k in ("max_drop", "min", "max") if getattr(m, k) is not None)
            lines.append(f"    {name}.{m.name}: {direction}; {limits or 'not gated by default'}; {m.description}")
    lines += ["", f"Decision modes: {', '.join(DECISIONS)}", "", "Effective configuration (value <- where it came from):"]
    for key, value in settings.values.items():
        shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        lines.append(f"  {key} = {shown}  <- {settings.origins.get(key, 'default')}")
    for rule in settings.rules:
        lines.append(f"  limit {rule}  <- {rule.source}")
    return lines
