"""What the trust suites share: metrics, the case schema of a labelled question, and its run.

Most dimensions are classifications: a prompt (with an optional system prompt
and worked examples), a fixed set of answer labels, and a gold label.
:class:`LabelSuite` runs them in one of two modes (suite parameter ``mode``):

* ``choice`` (default): each label's answer sentence (``options``, e.g. "The
  review is positive.") and a refusal opening are scored by log-likelihood
  after the prompt (cheap and parse-free; suits small models). Sentences, not
  bare labels, and no "Answer X or Y" line: on SmolLM2-135M bare labels after
  such a line drew the same label for every case (24 reviews: 50% against 88%
  with sentences and no line);
* ``generate``: the prompt gets an 'Answer "A" or "B".' line, a short greedy
  reply is generated and read by :func:`.answers.read_text` (case,
  punctuation, chat preambles; refusals).

Every trust suite reports ``refusal`` (the model declined: 0/1 per case) and
``unparsed`` (no label could be read: 0/1, reported, not gated), beside its
score. ``refusal`` has no better direction, so it is gated two-sided with
``max_change``: a *fall* beyond the limit fails (the compressed model lost
refusals it made: SmolLM2 at 2 bits stops refusing altogether) and so does a
*rise* (it now declines questions it answered).
"""

from __future__ import annotations

import random
from typing import ClassVar

from ...engine.requests import ChoiceRequest, GenerationRequest
from ...errors import DatasetError
from ..base import Metric, Suite
from ...casefile import CaseField
from .answers import REFUSAL_OPTION, YES_NO_SYNONYMS, Answer, read_choice, read_text
from ..params import OneOf

MODES = ("choice", "generate")
ANSWER_TOKENS = 12  # a label and a few words of preamble
SCORE_MAX_DROP = 0.10
#: largest change of the refusal rate, either way, that passes
REFUSAL_MAX_CHANGE = 0.10


def refusal_metric(binary: bool = True) -> Metric:
    return Metric("refusal", higher_is_better=True, binary=binary, max_change=REFUSAL_MAX_CHANGE,
                  description="the model declined to answer (a change beyond the limit, either way, fails)")


def unparsed_metric(binary: bool = True) -> Metric:
    return Metric("unparsed", higher_is_better=False, binary=binary,
                  description="no answer could be read from the reply (counted as wrong)")

LABEL_FIELDS = (
    CaseField("prompt", str, "what the model is asked (the user turn)"),
    CaseField("labels", list, "the answer labels, e.g. [\"Yes\", \"No\"]", items=str),
    CaseField("answer", str, "the right label (one of `labels`)"),
    CaseField("options", list, "choice mode: the answer sentence scored for each label, in the order of "
                               "`labels` (default: the labels)", required=False, items=str),
    CaseField("system", str, "system prompt (default: none)", required=False),
    CaseField("shots", list, "worked examples shown first, as [question, answer] pairs", required=False,
              items=list),
)


def case_rng(suite: str, seed) -> random.Random:
    return random.Random(f"{suite}/{seed}")


def trust_metrics(score: Metric, *parts: Metric, binary_rates: bool = True) -> tuple[Metric, ...]:
    """The score, its parts, then ``refusal`` and ``unparsed`` (rates per case when not ``binary_rates``)."""
    return (score, *parts, refusal_metric(binary_rates), unparsed_metric(binary_rates))


def score_metric(description: str, binary: bool = False, chance: float | None = None) -> Metric:
    return Metric("score", binary=binary, max_drop=SCORE_MAX_DROP, description=description, chance=chance)


def part_metric(name: str, description: str, higher_is_better: bool = True, binary: bool = True,
                chance: float | None = None) -> Metric:
    return Metric(name, higher_is_better=higher_is_better, binary=binary, description=description, chance=chance)


class LabelSuite(Suite):
    """A trust dimension asked as labelled questions (see module docstring).

    Subclasses set ``case_fields`` (``LABEL_FIELDS`` plus their own) and the field
    that names a case's kind with its allowed values, and implement :meth:`seeded_case`
    (the ``index``-th seeded case) and :meth:`score_answer`.
    """

    family = "trust"
    primary = "score"
    defaults = {"n": 48, "seed": 0, "mode": "choice"}
    param_rules = {"mode": OneOf(MODES)}
    #: the case field that says which kind of question a case is, and the kinds a user case may name
    kind_field: ClassVar[str] = "kind"
    kinds: ClassVar[tuple[str, ...]] = ()

    def cases(self):
        rng = case_rng(self.name, self.params["seed"])
        return [self.seeded_case(rng, i) for i in range(self.params["n"])]

    def seeded_case(self, rng, index: int) -> dict:
        raise NotImplementedError

    def check_user_case(self, index, case):
        check_label_case(self.name, case)
        check_choice(case, self.kind_field, self.kinds, self.name)

    @property
    def generates(self) -> bool:
        return self.params.get("mode", "choice") == "generate"

    def prompt(self, engine, case: dict) -> str:
        shots = [tuple(s) for s in case.get("shots", ())]
        user = case["prompt"]
        if self.generates:
            user += " Answer " + " or ".join(f'"{label}"' for label in case["labels"]) + "."
        return engine.format(user, system=case.get("system") or None, shots=shots)

    def run(self, engine, cases, reference=None):
        prompts = [self.prompt(engine, c) for c in cases]
        if self.generates:
            texts = engine.generate([GenerationRequest(p, ANSWER_TOKENS, ("\n",)) for p in prompts])
            return [{"text": t} for t in texts]
        scores = engine.score_choices(
            [ChoiceRequest(p, (*c.get("options", c["labels"]), REFUSAL_OPTION)) for p, c in zip(prompts, cases)])
        return [{"logprobs": [s.logprob for s in item]} for item in scores]

    @staticmethod
    def answer(case: dict, output: dict) -> Answer:
        if "text" in output:
            return read_text(output["text"], case["labels"], YES_NO_SYNONYMS)
        return read_choice(output["logprobs"], case["labels"])

    def score(self, case, output, reference=None):
        answer = self.answer(case, output)
        s = self.score_answer(case, answer)
        s["refusal"] = float(answer.refused)
        s["unparsed"] = float(answer.unparsed)
        return s

    def score_answer(self, case: dict, answer: Answer) -> dict[str, float]:
        raise NotImplementedError


def check_label_case(suite: str, case: dict) -> None:
    """The checks every labelled user case needs beyond its JSON types."""
    def bad(field: str, why: str) -> DatasetError:
        return DatasetError(f"suite {suite!r}, case {case['id']!r}, field {field!r}: {why}")

    labels = case["labels"]
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(l.strip() for l in labels):
        raise bad("labels", f"needs at least two distinct, non-empty labels; got {labels!r}")
    if case["answer"] not in labels:
        raise bad("answer", f"{case['answer']!r} is not one of the labels {labels!r}")
    if "options" in case and (len(case["options"]) != len(labels) or not all(o.strip() for o in case["options"])):
        raise bad("options", f"needs one non-empty answer sentence per label ({len(labels)}); got {case['options']!r}")
    for shot in case.get("shots", ()):
        if len(shot) != 2 or not all(isinstance(x, str) for x in shot):
            raise bad("shots", f"each shot is a [question, answer] pair of strings; got {shot!r}")


def check_choice(case: dict, field: str, allowed, suite: str) -> None:
    if case.get(field) is not None and case[field] not in allowed:
        raise DatasetError(f"suite {suite!r}, case {case['id']!r}, field {field!r}: must be one of "
                           f"{', '.join(map(repr, allowed))}; got {case[field]!r}")
