"""What a suite is: cases, how a model is run on them, and how one case is scored.

A suite owns its metrics and their direction (lm-eval's task model, with one
frozen record per metric instead of parallel registries). The lifecycle:

1. ``Suite(**params)`` validates its parameters (unknown keys are errors);
2. :meth:`Suite.cases` builds the seeded, JSON-serialisable cases
   (:meth:`Suite.load_cases` returns a user's ``dataset=`` file instead, checked
   against :attr:`Suite.case_fields`);
3. :meth:`Suite.run` asks an engine for raw outputs, one JSON-able dict per case
   (``reference`` is the baseline's raw outputs, for suites that compare models);
4. :meth:`Suite.score` turns one case's raw output into ``{metric: value}``.

Raw outputs, not scores, are what gets cached, so a scoring fix never needs a rerun.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import CompressUsageError, did_you_mean
from ..casefile import CaseField, load_cases
from .formats import reader_for, split_format
from .params import Int, check_params


@dataclass(frozen=True)
class Metric:
    """One metric a suite reports.

    Attributes:
        name: short name, unique in the suite (the full name is ``suite.metric``).
        higher_is_better: direction; the drop is signed so that positive is worse.
        binary: per-case values are 0/1 (Tango's paired score interval and test apply).
        max_drop / max_change / min / max: built-in default limits (None = not gated by default).
        description: one line for ``--compress-list`` and reports.
        low / high: the range of one case's value; the gate's anytime-valid tests need a finite
            one (a metric without it is tested only once all its cases are in).
        chance: the score of a model that guesses (None: no such level); a baseline near it is
            flagged beside the verdict, since a coin flip moves with any change to the weights.
    """

    name: str
    higher_is_better: bool = True
    binary: bool = True
    max_drop: float | None = None
    max_change: float | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""
    low: float = 0.0
    high: float = 1.0
    chance: float | None = None


class Suite(ABC):
    """Base class of every built-in and user suite (see module docstring)."""

    name: ClassVar[str]
    family: ClassVar[str] = "agentic"
    metrics: ClassVar[tuple[Metric, ...]]
    primary: ClassVar[str]
    #: parameter name -> default; ``n`` (cases) and ``seed`` are always present.
    defaults: ClassVar[dict[str, Any]] = {"n": 100, "seed": 0}
    #: parameter name -> its domain (:mod:`.params`), checked at construction; ``n`` is a positive integer.
    param_rules: ClassVar[dict[str, Any]] = {}
    #: bump when case generation or scoring changes, so caches do not mix versions.
    version: ClassVar[int] = 1
    #: True when :meth:`run` needs the baseline's raw outputs (agreement metrics).
    needs_reference: ClassVar[bool] = False
    #: the optional engine capabilities (:data:`pytest_compress.engine.CAPABILITIES`) :meth:`run` uses
    needs: frozenset[str] = frozenset()
    #: JSONL schema of user cases (``dataset=``); empty = the suite takes no user cases.
    case_fields: ClassVar[tuple[CaseField, ...]] = ()
    #: True for a suite that takes user cases only in a foreign format (:mod:`.formats`), no JSONL schema.
    reads_foreign_only: ClassVar[bool] = False

    def __init__(self, **params: Any):
        self.dataset = params.pop("dataset", None)
        if self.dataset is not None and not self.case_fields and not self.reads_foreign_only:
            raise CompressUsageError(f"suite {self.name!r} does not take user cases (dataset=)")
        # With a dataset, n only cuts the file when given explicitly.
        self._n_given = "n" in params
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            key = unknown[0]
            raise CompressUsageError(
                f"suite {self.name!r} has no parameter {key!r}.{did_you_mean(key, self.defaults)} "
                f"Its parameters: {', '.join(sorted(self.defaults))}"
            )
        self.params = {**self.defaults, **params}
        self.params = check_params(self.name, {"n": Int(1), **self.param_rules}, self.params)
        if self.dataset is not None:
            self.params["dataset"] = str(self.dataset)

    def chance_of(self, metric: Metric) -> float | None:
        """``metric``'s chance level under this suite's parameters (override when they set it)."""
        return metric.chance

    def describe(self, omit: tuple[str, ...] = ()) -> str:
        """Canonical ``name(k=v, ...)`` string of the suite and its parameters (less ``omit``)."""
        args = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(self.params.items())
                         if k not in omit)
        return f"{self.name}({args})"

    @abstractmethod
    def cases(self) -> list[dict]:
        """The seeded cases, JSON-serialisable, in a stable order."""

    def load_cases(self) -> list[dict]:
        """The cases to run: the user's ``dataset`` file when given, else :meth:`cases`."""
        if self.dataset is None:
            return self.cases()
        fmt, path = split_format(self.dataset)
        if fmt is not None:
            cases = reader_for(fmt, self.name)(Path(path), self)
        else:
            cases = load_cases(path, self.case_fields, f"suite {self.name!r}")
        cases = cases[: self.params["n"]] if self._n_given else cases
        for index, case in enumerate(cases):
            self.check_user_case(index, case)
        return cases

    def check_user_case(self, index: int, case: dict) -> None:
        """Checks across fields that the schema cannot express (raise DatasetError); may fill defaults."""

    @abstractmethod
    def run(self, engine, cases: list[dict], reference: list[dict] | None = None) -> list[dict]:
        """Raw outputs of the model behind ``engine``, one dict per case."""

    @abstractmethod
    def score(self, case: dict, output: dict, reference: dict | None = None) -> dict[str, float]:
        """``{metric name: value}`` for one case."""


def digest(obj: Any) -> str:
    """Stable short digest of a JSON-serialisable object (cases, parameters)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
