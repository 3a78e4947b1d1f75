"""``lm_eval:<task>``: an lm-evaluation-harness task run as a paired suite.

The task is lm-eval's own: its YAML config is loaded by lm-eval's ``TaskManager``
(a ``ConfigurableTask``), and its docs, prompts (``fewshot_context``, which applies
``doc_to_text`` and the few-shot examples), requests (``construct_requests``),
filters and metrics (``process_results``) are the task's. Only the model calls go
through this project's engine, on the baseline and on the compressed model, so the
gate pairs the two models' per-doc values of the task's own metrics.

Where task configs are looked up (first that applies):

1. the suite parameter ``include_path`` (a directory or YAML file, or a list of them);
2. the environment variable ``PYTEST_COMPRESS_LM_EVAL_TASKS`` (paths joined by ``os.pathsep``);
3. ``lm_eval_tasks/`` in the working directory, when it exists.

A task found in none of them is looked up among lm-eval's built-in configs. No
dataset is ever downloaded: Hugging Face hub and datasets run offline while a task
loads, so its dataset must be local files (``dataset_path: json`` with
``dataset_kwargs: {data_files: ...}``) or already in the local datasets cache.

Output types:

* ``multiple_choice`` and ``loglikelihood``: each ``(context, continuation)``
  request is scored by :meth:`HFEngine.score_choices` (continuations that share a
  context in one request); the task's ``process_results`` gets ``(logprob,
  is_greedy)`` per request, as in lm-eval, so ``acc`` is the argmax of the summed
  log-probs and ``acc_norm`` that of log-prob per character. As lm-eval does, the
  context's trailing whitespace moves to the continuation, and an empty context
  becomes the end-of-text token.
* ``generate_until``: :meth:`HFEngine.generate` with the task's ``until`` and
  ``max_gen_toks`` (greedy; a task that samples or repeats is refused), then the
  task's filters and ``process_results`` (e.g. ``exact_match``).

Other output types (``loglikelihood_rolling``) are refused.

Metrics: one per metric of the task whose lm-eval aggregation is the mean over
docs (the paired tests need per-doc values; corpus-level metrics such as ``bleu``
or ``f1`` are left out), direction from the task's ``higher_is_better``.
``acc``, ``acc_norm``, ``acc_bytes``, ``acc_mutual_info`` and ``exact_match`` are
binary in [0, 1]; any other metric has no declared range. The first metric is
the score and is gated by default at ``max_drop=0.05`` when it is one of the
binary ones (a drop of 0.05 on an unknown scale means nothing: gate those with a
limit of your own). With several filters, every metric is reported per filter as
``<metric>@<filter>``.

Parameters: ``n`` (the first n docs, default 100), ``seed`` (seeds the few-shot
sampler; lm-eval's own default seed is 1234) and ``include_path``. Cases are the
docs as JSON with the prompts built from them, so a change to a task's prompt
makes new cases (and never reuses cached outputs); case ``id`` is the doc index.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import math
import numbers
import os
from pathlib import Path
from typing import Any, ClassVar

from ..engine.requests import ChoiceRequest, GenerationRequest
from ..errors import CompressError, CompressUsageError, did_you_mean
from .base import Metric, Suite
from .registry import SUITES_REGISTRY, register_suite

PREFIX = "lm_eval:"
TASKS_ENV = "PYTEST_COMPRESS_LM_EVAL_TASKS"
DEFAULT_TASKS_DIR = "lm_eval_tasks"
INSTALL_HINT = "pip install lm-eval"
CHOICE_TYPES = ("multiple_choice", "loglikelihood")
OUTPUT_TYPES = (*CHOICE_TYPES, "generate_until")
#: metrics whose per-doc value is 0 or 1 in lm-eval's process_results
BINARY_METRICS = frozenset({"acc", "acc_norm", "acc_bytes", "acc_mutual_info", "exact_match"})
#: metrics of a multiple-choice task that a guesser scores 1/len(choices) on
GUESSABLE = frozenset({"acc", "acc_norm", "acc_bytes", "acc_mutual_info"})
DEFAULT_MAX_DROP = 0.05
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's own default for generate_until


def is_lm_eval_name(name: str) -> bool:
    return name.startswith(PREFIX)


def require_lm_eval(name: str) -> None:
    """A usage error naming the install command when lm-eval is not installed."""
    if importlib.util.find_spec("lm_eval") is None:
        raise CompressUsageError(f"suite {name!r} runs an lm-evaluation-harness task, and lm-eval is not "
                                 f"installed: {INSTALL_HINT}")


def task_name_of(name: str) -> str:
    """``mytask`` from ``lm_eval:mytask``, or a usage error."""
    task = name[len(PREFIX):] if is_lm_eval_name(name) else ""
    if not task or any(c.isspace() or c in ",:" for c in task):
        raise CompressUsageError(f"{name!r} is no lm-eval suite name: expected {PREFIX}<task>, e.g. {PREFIX}arc_easy")
    return task


def suite_class(name: str) -> type[Suite]:
    """The suite class of ``lm_eval:<task>``, made on first use and kept in the suite registry."""
    task = task_name_of(name)
    require_lm_eval(name)
    cls = SUITES_REGISTRY.load(name)
    if cls is None:
        cls = register_suite(name)(type(f"LmEval[{task}]", (LmEvalTask,), {"task_name": task, "__module__": __name__}))
    return cls


def include_paths(value: Any, suite: str) -> list[str]:
    """The task-config paths to search (see the module docstring), absolute; each must exist."""
    if value is None:
        env = os.environ.get(TASKS_ENV)
        if env:
            value = [p for p in env.split(os.pathsep) if p]
        else:
            value = [DEFAULT_TASKS_DIR] if Path(DEFAULT_TASKS_DIR).is_dir() else []
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in value):
        raise CompressUsageError(f"suite {suite!r}: include_path must be a path or a list of paths, got {value!r}")
    paths = []
    for p in value:
        path = Path(p).expanduser()
        if not path.exists():
            raise CompressUsageError(f"suite {suite!r}: include_path {str(p)!r} does not exist")
        paths.append(str(path.resolve()))
    return paths


@contextlib.contextmanager
def offline():
    """Hugging Face hub and datasets offline for the block: a dataset is read from local
    files or the local cache, never downloaded."""
    import datasets.config
    import huggingface_hub.constants as hub

    saved = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE = saved


@functools.lru_cache(maxsize=16)
def load_task(name: str, paths: tuple[str, ...]):
    """lm-eval's Task for ``name``'s task, from ``paths`` or else lm-eval's built-in configs
    (kept per name and paths: a task loads its dataset once per session)."""
    task = task_name_of(name)
    try:
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise CompressUsageError(f"suite {name!r} needs lm-evaluation-harness: {INSTALL_HINT}") from None
    with offline():
        manager = TaskManager(include_path=list(paths) or None, include_defaults=False)
        if task not in manager.all_tasks:
            manager = TaskManager(include_path=list(paths) or None)  # lm-eval's own configs as well
        if task not in manager.all_tasks:
            where = ", ".join(paths) or f"(no include_path; ${TASKS_ENV} unset; no ./{DEFAULT_TASKS_DIR}/)"
            raise CompressUsageError(
                f"suite {name!r}: lm-eval knows no task {task!r}.{did_you_mean(task, manager.all_subtasks)} "
                f"Task configs were looked up in {where} and among lm-eval's built-in tasks; pass "
                f"include_path=DIR, set ${TASKS_ENV}, or put the YAML in ./{DEFAULT_TASKS_DIR}/")
        if task not in manager.all_subtasks:
            raise CompressUsageError(f"suite {name!r}: {task!r} is a group or tag of lm-eval tasks; "
                                     f"name its tasks one by one ({PREFIX}<task>,...)")
        try:
            return manager.load([task])["tasks"][task]
        except Exception as exc:  # noqa: BLE001 - a config or dataset problem of the user's, shown as such
            raise CompressUsageError(
                f"suite {name!r}: lm-eval could not load task {task!r} offline ({type(exc).__name__}: {exc}). "
                "pytest-compress never downloads: point the task's dataset at local files (dataset_path: json, "
                "dataset_kwargs: {data_files: ...}) or at a dataset already in the local cache") from None


def check_task(name: str, task) -> str:
    """The task's output type, once it is one the engine serves (else a usage error)."""
    kind = getattr(task, "OUTPUT_TYPE", None)
    if kind not in OUTPUT_TYPES:
        raise CompressUsageError(f"suite {name!r}: output_type {kind!r} is not supported; "
                                 f"supported: {', '.join(OUTPUT_TYPES)}")
    config = task.config
    if getattr(config, "doc_to_image", None) or getattr(config, "doc_to_audio", None):
        raise CompressUsageError(f"suite {name!r}: multimodal tasks (doc_to_image / doc_to_audio) are not supported")
    if (config.repeats or 1) != 1:
        raise CompressUsageError(f"suite {name!r}: repeats={config.repeats}; the engine decodes greedily, "
                                 "so repeats must be 1")
    if kind == "generate_until" and (config.generation_kwargs or {}).get("do_sample"):
        raise CompressUsageError(f"suite {name!r}: generation_kwargs has do_sample: true; the engine decodes "
                                 "greedily: set do_sample: false")
    return kind


def filter_names(task) -> list[str]:
    """The task's filter pipelines (lm-eval's default is one, ``none``: take the first response)."""
    return [f.name for f in getattr(task, "_filters", None) or ()] or ["none"]


def task_metrics(name: str, task, filters: list[str]) -> tuple[dict[str, tuple[str, str]], tuple[Metric, ...]]:
    """``{suite metric: (task metric, filter)}`` and the Metrics, first one the score."""
    from lm_eval.api.metrics import mean

    aggregation, higher = task.aggregation(), task.higher_is_better()
    names = [m for m, agg in aggregation.items() if agg is mean]
    if not names:
        raise CompressUsageError(
            f"suite {name!r}: none of the task's metrics ({', '.join(aggregation) or 'none'}) is a mean over docs; "
            "the paired gate needs per-doc values (corpus-level metrics such as bleu or f1 are not supported)")
    source, metrics = {}, []
    for f in filters:
        for metric in names:
            full = metric if len(filters) == 1 else f"{metric}@{f}"
            binary = metric in BINARY_METRICS
            first = not metrics
            source[full] = (metric, f)
            metrics.append(Metric(
                full, higher_is_better=bool(higher.get(metric, True)), binary=binary,
                max_drop=DEFAULT_MAX_DROP if first and binary else None,
                low=0.0 if binary else -math.inf, high=1.0 if binary else math.inf,
                description=f"lm-eval {metric}" + ("" if f == "none" else f" after filter {f!r}")))
    return source, tuple(metrics)


def _as_json(value, name: str):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise CompressUsageError(f"suite {name!r}: a doc of the task is not JSON ({exc}); only text tasks "
                                 "are supported") from None


def split_pair(context: str, continuation: str, eot: str) -> tuple[str, str]:
    """lm-eval's encoding of a (context, continuation) pair: the context's trailing whitespace
    goes to the continuation; an empty context is the end-of-text token."""
    stripped = context.rstrip()
    continuation = context[len(stripped):] + continuation
    return stripped or eot, continuation


class LmEvalTask(Suite):
    """Base of the ``lm_eval:<task>`` suites (one subclass per task, :func:`suite_class`)."""

    family = "lm_eval"
    defaults = {"n": 100, "seed": 0, "include_path": None}
    metrics: tuple[Metric, ...] = ()  # the task's, set per instance from its config
    primary = ""
    task_name: ClassVar[str] = ""

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.params["include_path"] = include_paths(self.params["include_path"], self.name)
        self.task = load_task(self.name, tuple(self.params["include_path"]))
        self.output_type = check_task(self.name, self.task)
        self.filters = filter_names(self.task)
        self.sources, self.metrics = task_metrics(self.name, self.task, self.filters)
        self.primary = self.metrics[0].name
        self._chance: float | None = None

    def chance_of(self, metric: Metric) -> float | None:
        """A guesser's multiple-choice accuracy: the mean of 1/len(choices) over the cases."""
        if self.output_type == "multiple_choice" and self.sources[metric.name][0] in GUESSABLE:
            return self._chance
        return None

    def cases(self) -> list[dict]:
        task, n = self.task, self.params["n"]
        task.set_fewshot_seed(self.params["seed"])
        shots = task.config.num_fewshot or 0
        cases, inverse_choices = [], []
        for index, doc in enumerate(task.eval_docs):
            if index >= n:
                break
            context = task.fewshot_context(doc=doc, num_fewshot=shots, gen_prefix=task.doc_to_prefix(doc))
            made = task.construct_requests(doc=doc, ctx=context, metadata=(self.task_name, index, 1))
            made = made if isinstance(made, list) else [made]
            case = {"id": str(index), "doc": _as_json(doc, self.name)}
            if self.output_type == "generate_until":
                prompt, kwargs = made[0].arguments
                until = kwargs.get("until") or []
                case.update(prompt=prompt, until=[until] if isinstance(until, str) else list(until),
                            max_gen_toks=int(kwargs.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS)))
            else:
                case["requests"] = [list(inst.arguments) for inst in made]
                if self.output_type == "multiple_choice":
                    inverse_choices.append(1 / len(task.doc_to_choice(doc)))
            cases.append(case)
        self._chance = sum(inverse_choices) / len(inverse_choices) if inverse_choices else None
        return cases

    def run(self, engine, cases: list[dict], reference: list[dict] | None = None) -> list[dict]:
        if self.output_type == "generate_until":
            texts = engine.generate([GenerationRequest(c["prompt"], c["max_gen_toks"], tuple(c["until"]))
                                     for c in cases])
            return [{"text": t} for t in texts]
        # continuations that share a context are one request: the engine runs the context once
        eot = engine.eos_token
        requests, layouts = [], []
        for case in cases:
            pairs = [split_pair(ctx, cont, eot) for ctx, cont in case["requests"]]
            groups: dict[str, list[int]] = {}
            for k, (ctx, _) in enumerate(pairs):
                groups.setdefault(ctx, []).append(k)
            layouts.append([(len(requests) + g, ks) for g, ks in enumerate(groups.values())])
            requests += [ChoiceRequest(ctx, tuple(pairs[k][1] for k in ks)) for ctx, ks in groups.items()]
        scores = engine.score_choices(requests)
        outputs = []
        for case, layout in zip(cases, layouts):
            logprobs, greedy = [0.0] * len(case["requests"]), [False] * len(case["requests"])
            for r, ks in layout:
                for k, s in zip(ks, scores[r]):
                    logprobs[k], greedy[k] = s.logprob, s.greedy
            outputs.append({"logprobs": logprobs, "greedy": greedy})
        return outputs

    def score(self, case: dict, output: dict, reference: dict | None = None) -> dict[str, float]:
        """The task's filters, then its ``process_results``, on this case's raw outputs."""
        from lm_eval.api.instance import Instance

        if self.output_type == "generate_until":
            kind, responses = "generate_until", [[output["text"]]]
        else:
            kind, responses = "loglikelihood", [[(lp, g)] for lp, g in zip(output["logprobs"], output["greedy"])]
        instances = [Instance(request_type=kind, doc=case["doc"], arguments=(), idx=i, resps=r)
                     for i, r in enumerate(responses)]
        pipelines = {f.name: f for f in getattr(self.task, "_filters", None) or ()}
        results = {}
        for f in self.filters:
            if f in pipelines:
                pipelines[f].apply(instances)
                filtered = [inst.filtered_resps[f] for inst in instances]
            else:
                filtered = [r[0] for r in responses]
            results[f] = self.task.process_results(case["doc"], filtered)
        return {full: self._value(results[f].get(metric), full, metric, case)
                for full, (metric, f) in self.sources.items()}

    def _value(self, value, full: str, metric: str, case: dict) -> float:
        where = f"{self.name}.{full}, case {case['id']}"
        if value is None:
            raise CompressError(f"{where}: the task's process_results returned no {metric!r}")
        if not isinstance(value, numbers.Real):
            raise CompressError(f"{where}: the per-doc value {value!r} is not a number; the paired gate "
                                "needs one number per doc")
        value = float(value)
        if metric in BINARY_METRICS and value not in (0.0, 1.0):
            raise CompressError(f"{where}: {metric} is taken as 0/1 per doc, and the task gave {value:g}")
        return value
