"""``pytest --compress-list``: methods, suites, metrics, defaults, and the effective configuration."""

from __future__ import annotations

from .errors import CompressError
from .gate import DECISIONS
from .limits import DEFAULT_LIMIT_KEYS
from .settings import SETTINGS
from .spec import valid_forms

DECISION_HELP = {
    "lenient": "an inconclusive check passes its test (reported as INCONCLUSIVE); a decided failure fails",
    "strict": "an inconclusive check fails its test: only a limit shown to hold passes",
    "point": "an inconclusive check follows its point estimate",
}

def listing(settings) -> list[str]:
    from .compress.registry import built_methods
    from .suites import get_suite, suite_names

    lines = ["pytest-compress", "", "Compression specs:"]
    lines += [f"  {form}" for form in valid_forms()]
    lines.append(f"  available in this session: {', '.join(built_methods())}")
    lines += ["", "Suites (metric: direction, default limit):"]
    from .suites.registry import BY_NAME_ONLY

    for name in suite_names():
        try:
            suite = get_suite(name)
        except CompressError as exc:  # one broken suite module must not hide the others
            lines.append(f"  {name}: cannot be loaded: {exc}")
            continue
        params = ", ".join(f"{k}={v}" for k, v in suite.defaults.items())
        only = "; by name only, not in 'all'" if name in BY_NAME_ONLY else ""
        lines.append(f"  {name} [{suite.family}] ({params}); score = {suite.primary}{only}")
        for m in suite.metrics:
            # a metric gated by max_change alone has no better side: either way is a change
            direction = ("no better direction" if m.max_change is not None and m.max_drop is None
                         else "higher is better" if m.higher_is_better else "lower is better")
            limits = ", ".join(f"{k}={getattr(m, k):g}" for k in DEFAULT_LIMIT_KEYS if getattr(m, k) is not None)
            lines.append(f"    {name}.{m.name}: {direction}; {limits or 'not gated by default'}; {m.description}")
        lines.extend(_dataset_lines(name, suite))
    from .suites.lm_eval_task import INSTALL_HINT, PREFIX

    lines.append(f"  {PREFIX}<task> [lm_eval]: any lm-evaluation-harness task from its local config and data, "
                 f"gated on the task's own metrics (needs lm-eval: {INSTALL_HINT})")
    lines += ["", "Decision modes (--compress-decision, ini compress_decision):"]
    lines += [f"  {mode}: {DECISION_HELP[mode]}" for mode in DECISIONS]
    lines += ["", "Effective configuration (value <- where it came from: cli > ini > default):"]
    for key, value in settings.values.items():
        shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        lines.append(f"  {key} = {SETTINGS[key].unset if value is None else shown}  "
                     f"<- {settings.origins.get(key, 'default')}")
    for rule in settings.rules:
        lines.append(f"  limit {rule}  <- {rule.source}")
    return lines


def _dataset_lines(name: str, suite) -> list[str]:
    """What ``dataset=`` a suite takes: its JSONL fields, and the foreign formats that feed it."""
    from .casefile import ID_FIELD
    from .suites.formats import FORMAT_MODULES, readers

    out = []
    if suite.case_fields:
        fields = ", ".join(f"{f.name}: {f.type_name()}{'' if f.required else '?'}"
                           for f in (ID_FIELD, *suite.case_fields))
        out.append(f"    dataset=FILE.jsonl, one object per line: {fields}")
    formats = [fmt for fmt in FORMAT_MODULES if name in readers(fmt)]
    if formats:
        out.append(f"    dataset= also reads: {', '.join(f'{fmt}:PATH' for fmt in formats)}")
    return out
