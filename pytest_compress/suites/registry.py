"""Name -> suite class; a suite is added by adding a module to :data:`SUITE_MODULES`."""

from __future__ import annotations

import fnmatch

from ..errors import CompressUsageError, did_you_mean
from ..registry import Registry
from .base import Suite

SUITE_MODULES = {
    "tool_use": "pytest_compress.suites.tool_use",
    "bfcl": "pytest_compress.suites.bfcl",
    "needle": "pytest_compress.suites.long_context",
    "multi_question": "pytest_compress.suites.long_context",
    "passage_retrieval": "pytest_compress.suites.long_context",
    "rag": "pytest_compress.suites.rag",
    "workflow": "pytest_compress.suites.workflow",
    "real_world": "pytest_compress.suites.real_world",
    "trust.toxicity": "pytest_compress.suites.trust.toxicity",
    "trust.stereotype": "pytest_compress.suites.trust.stereotype",
    "trust.adv_robustness": "pytest_compress.suites.trust.adv_robustness",
    "trust.ood": "pytest_compress.suites.trust.ood",
    "trust.adv_demo": "pytest_compress.suites.trust.adv_demo",
    "trust.privacy": "pytest_compress.suites.trust.privacy",
    "trust.ethics": "pytest_compress.suites.trust.ethics",
    "trust.fairness": "pytest_compress.suites.trust.fairness",
    "agreement.rank_correlation": "pytest_compress.suites.agreement",
    "agreement.erank": "pytest_compress.suites.agreement",
    "agreement.energy": "pytest_compress.suites.agreement",
    "agreement.kl": "pytest_compress.suites.agreement",
    "agreement.top1_agreement": "pytest_compress.suites.agreement",
    "agreement.perplexity": "pytest_compress.suites.agreement",
}

#: suites chosen by name only, never by ``all``: bfcl reads the user's BFCL files and its own
#: sample of them is a demonstration (tool_use already gates tool calls in every default session)
BY_NAME_ONLY = frozenset({"bfcl"})

SUITES_REGISTRY = Registry("suite", SUITE_MODULES)
register_suite = SUITES_REGISTRY.register


def get_suite(name: str) -> type[Suite]:
    """The suite class of ``name``; ``lm_eval:<task>`` is an lm-eval task (:mod:`.lm_eval_task`)."""
    from .lm_eval_task import is_lm_eval_name, suite_class

    if is_lm_eval_name(name):
        return suite_class(name)
    cls = SUITES_REGISTRY.load(name)
    if cls is None:
        raise CompressUsageError(
            f"unknown suite {name!r}.{did_you_mean(name, SUITE_MODULES)} "
            f"Known suites: {', '.join(suite_names())}"
        )
    return cls


def suite_names() -> list[str]:
    return list(SUITE_MODULES)


def select_suites(selection: str) -> list[str]:
    """``all`` | ``none`` | comma list of names, families (``trust``), globs (``trust.*``)
    or lm-eval tasks (``lm_eval:arc_easy``); ``all`` leaves out lm-eval tasks and :data:`BY_NAME_ONLY`."""
    from .lm_eval_task import is_lm_eval_name, require_lm_eval, task_name_of

    selection = selection.strip()
    if selection.lower() in ("", "all"):
        return [n for n in suite_names() if n not in BY_NAME_ONLY]
    if selection.lower() == "none":
        return []
    chosen: list[str] = []
    for item in (s.strip() for s in selection.split(",")):
        if not item:
            continue
        if is_lm_eval_name(item):
            task_name_of(item)
            require_lm_eval(item)
            if item not in chosen:
                chosen.append(item)
            continue
        hits = [n for n in suite_names() if fnmatch.fnmatchcase(n, item) or n.split(".")[0] == item]
        if not hits:
            raise CompressUsageError(
                f"--compress-suites: {item!r} matches no suite.{did_you_mean(item, suite_names())} "
                f"Known suites: {', '.join(suite_names())}; or use 'all' / 'none', or lm_eval:<task>"
            )
        chosen.extend(h for h in hits if h not in chosen)
    return chosen
