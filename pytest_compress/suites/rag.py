"""``rag``: answering from k retrieved documents, swept over k, the gold document's position varied.

Each case is a question about one made-up person of a generated collection
(:mod:`.rag_corpus`), the document that answers it (the gold document), and a
pool of other documents. For each k in ``ks`` the context holds the gold
document and the k-1 pool documents the retriever ranks highest for the
question (hard negatives: same family name, same kind of fact), with the gold
document at relative position ``gold_depth`` (0 = first, 1 = last; generated
cases cycle through ``gold_depths``). The model then picks the answer among
``choices`` by log-likelihood after an answer prefix (chance = 1 / len(choices)).

Metrics per case (paired between the models by the gate):

* ``acc@k`` for each k: the right answer is the most likely choice;
* ``accuracy``: the mean of ``acc@k`` over ``ks`` (the suite's score);
* ``k_slope``: the least-squares slope of correctness against k, in accuracy
  per added document. Negative means accuracy falls as documents are added;
  higher is better, so a compressed model that degrades faster with k shows a
  positive drop. (The mean of per-case slopes is the slope of mean accuracy.)

Retrievers (``retriever``): ``bm25`` (default) or ``dense``; see :mod:`.retrievers`.
"""

from __future__ import annotations

import random

from ..engine.requests import ChoiceRequest
from ..errors import CompressUsageError, DatasetError
from .base import Metric, Suite
from ..casefile import CaseField
from .rag_corpus import ATTRIBUTES, attribute_values, collection
from .registry import register_suite
from .retrievers import get_retriever, retriever_class
from .params import Int, ListOf


def least_squares_slope(xs, ys) -> float:
    """Slope of the least-squares line through (xs, ys); NaN with fewer than two distinct xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def gold_position(depth: float, k: int) -> int:
    return round(depth * (k - 1))


def make_rag_case(rng: random.Random, index: int, people, towns, pool_size: int, depth: float) -> dict:
    target = people[index % len(people)]
    attribute, value = rng.choice(sorted(target.facts.items()))
    family = [p for p in people if p is not target and p.name.split()[-1] == target.name.split()[-1]]
    strangers = [p for p in people if p is not target and p not in family]
    pool = family + rng.sample(strangers, pool_size - 1 - len(family))
    rng.shuffle(pool)
    # Distractor answers: the same kind of fact from pool documents first, so they can appear in context.
    nearby = list(dict.fromkeys(p.facts[attribute] for p in pool if p.facts.get(attribute, value) != value))
    rest = [v for v in attribute_values(attribute, towns) if v != value and v not in nearby]
    others = rng.sample(nearby, min(3, len(nearby)))
    choices = [value, *others, *rng.sample(rest, 3 - len(others))]
    rng.shuffle(choices)
    spec = ATTRIBUTES[attribute]
    return {
        "id": f"rag-{index}", "question": spec.question.format(name=target.name),
        "answer_prefix": spec.answer_prefix.format(name=target.name), "choices": choices, "answer": value,
        "gold_document": target.document(), "documents": [p.document() for p in pool], "gold_depth": depth,
    }


def rag_metrics(ks) -> tuple[Metric, ...]:
    return (
        Metric("accuracy", binary=False, max_drop=0.10, chance=0.25, description="mean accuracy over the k sweep"),
        *(Metric(f"acc@{k}", max_drop=0.15, chance=0.25, description=f"right answer with {k} documents in context") for k in ks),
        Metric("k_slope", binary=False, low=-1.0, high=1.0, description="slope of accuracy per added document (negative: degrades with k)"),
    )


@register_suite("rag")
class Rag(Suite):
    defaults = {"n": 12, "seed": 0, "ks": [1, 3, 5, 10], "retriever": "bm25", "collection_size": 60,
                "pool_size": 16, "gold_depths": [0.0, 0.5, 1.0]}
    param_rules = {"ks": ListOf(Int(1), distinct=True)}
    metrics = rag_metrics(defaults["ks"])
    primary = "accuracy"
    case_fields = (
        CaseField("question", str, "what is asked"),
        CaseField("choices", list, "answer options, scored by log-likelihood", items=str),
        CaseField("answer", str, "the right option (one of choices)"),
        CaseField("gold_document", str, "the document that answers the question"),
        CaseField("documents", list, "other documents; the retriever picks the k-1 shown beside the gold one",
                  items=str),
        CaseField("answer_prefix", str, "text the options continue, e.g. 'Ana was born in'", required=False),
        CaseField("gold_depth", float, "where the gold document goes: 0 = first, 1 = last (default: cycles "
                  "through gold_depths)", required=False),
    )

    def __init__(self, **params):
        super().__init__(**params)
        self.ks = tuple(sorted(self.params["ks"]))
        retriever_class(self.params["retriever"])
        self.metrics = rag_metrics(self.ks)

    def cases(self) -> list[dict]:
        p = self.params
        if not (max(self.ks) <= p["pool_size"] < p["collection_size"]):
            raise CompressUsageError(
                f"suite 'rag': need max(ks) <= pool_size < collection_size, got ks={list(self.ks)}, "
                f"pool_size={p['pool_size']}, collection_size={p['collection_size']}"
            )
        rng = random.Random(f"rag/{p['seed']}")
        people, towns = collection(rng, p["collection_size"])
        depths = p["gold_depths"]
        return [make_rag_case(rng, i, people, towns, p["pool_size"], depths[i % len(depths)]) for i in range(p["n"])]

    def load_cases(self) -> list[dict]:
        cases = super().load_cases()
        for case in cases:
            problem = None
            if case["answer"] not in case["choices"]:
                problem = f"answer {case['answer']!r} is not one of choices"
            elif len(case["documents"]) < max(self.ks) - 1:
                problem = f"{len(case['documents'])} documents, but k={max(self.ks)} needs {max(self.ks) - 1}"
            elif not 0 <= case.get("gold_depth", 0) <= 1:
                problem = f"gold_depth {case['gold_depth']} is not in [0, 1]"
            if problem:
                raise DatasetError(f"suite 'rag', case {case['id']!r}: {problem}")
        return cases

    def depth(self, index: int, case: dict) -> float:
        depths = self.params["gold_depths"]
        return case.get("gold_depth", depths[index % len(depths)])

    @staticmethod
    def prompt(engine, case: dict, documents: list[str]) -> str:
        listed = "\n".join(f"[{i}] {d}" for i, d in enumerate(documents, 1))
        user = f"Documents:\n{listed}\n\nAnswer the question using the documents.\nQuestion: {case['question']}"
        return engine.format(user) + case.get("answer_prefix", "")

    def run(self, engine, cases, reference=None):
        retriever = get_retriever(self.params["retriever"])
        rankings = [retriever.rank(c["question"], c["documents"])[: max(self.ks) - 1] for c in cases]
        requests = []
        for i, (case, ranking) in enumerate(zip(cases, rankings)):
            choices = tuple(f" {c}" for c in case["choices"])
            for k in self.ks:
                shown = [case["documents"][j] for j in ranking[: k - 1]]
                shown.insert(gold_position(self.depth(i, case), k), case["gold_document"])
                requests.append(ChoiceRequest(self.prompt(engine, case, shown), choices))
        scores = engine.score_choices(requests)
        per_case = len(self.ks)
        return [
            {"ranking": ranking,
             "choice_logprobs": {str(k): [s.logprob for s in scores[i * per_case + j]] for j, k in enumerate(self.ks)}}
            for i, ranking in enumerate(rankings)
        ]

    def score(self, case, output, reference=None):
        right = case["choices"].index(case["answer"])
        correct = []
        for k in self.ks:
            lps = output["choice_logprobs"][str(k)]
            correct.append(float(max(range(len(lps)), key=lambda i: (lps[i], -i)) == right))
        return {
            "accuracy": sum(correct) / len(correct),
            **{f"acc@{k}": c for k, c in zip(self.ks, correct)},
            "k_slope": least_squares_slope(self.ks, correct),
        }
