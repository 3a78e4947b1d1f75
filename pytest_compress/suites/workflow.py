"""``workflow``: WorfBench-style workflow generation.

A case is a task told in prose (what to do, and what must happen before what).
The model writes the steps as a numbered list, then one ``Edges:`` line with
the dependencies (``1->3, 2->3``); ``shots`` worked examples come first as
earlier chat turns, since SmolLM2-135M does not find the format on its own.

Scoring (:func:`node_f1`, :func:`graph_f1`, plain functions):

* predicted and gold steps are paired by a maximum-weight matching
  (``scipy.optimize.linear_sum_assignment``) over a deterministic word-overlap
  similarity (:func:`step_similarity`); pairs below ``threshold`` do not match;
* ``node_f1``: the correct count is the longest increasing subsequence of the
  matched gold indices, read in predicted order (steps in the wrong order do not
  count); precision over the predicted steps, recall over the gold steps;
* ``graph_f1``: the correct count is the largest connected component of the
  matched steps joined by the edges both graphs share (a matched step with no
  shared edge is a component of one).

Gold indices follow the order the task text tells the steps in (a topological
order), so a step listed in another valid order loses node credit: the text
states the order, and following it is part of the ability measured.

Generated tasks come from :mod:`.workflow_tasks` (seeded choice of a domain,
its slot words and ``steps`` of its seven steps, with the dependencies the
chosen steps keep); nothing is downloaded. Users bring their own tasks as
JSONL (schema in :attr:`Workflow.case_fields`).
"""

from __future__ import annotations

import random
import re
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..engine.requests import GenerationRequest
from ..errors import DatasetError
from .base import Metric, Suite
from ..casefile import CaseField
from .registry import register_suite
from .workflow_tasks import DOMAINS
from .params import Int, Number

MAX_STEPS = len(DOMAINS[0].steps)
_STOPWORDS = frozenset("a an the to of in on for with and then your it its".split())
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_NODE_LINE = re.compile(r"^\s*(?:step\s*)?(\d+)\s*[.):]\s*(\S.*?)\s*$", re.IGNORECASE)
_EDGE = re.compile(r"(\d+)\s*(?:->|→|=>|-)\s*(\d+)")
_EDGES_LINE = re.compile(r"^\s*edges?\s*:", re.IGNORECASE)


# --- parsing ---------------------------------------------------------------------------

def parse_workflow(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """``"1. a\\n2. b\\nEdges: 1->2"`` -> ``(["a", "b"], [(0, 1)])`` (0-based positions).

    Node lines are ``<number>. <step>`` (or ``)``/``:``) before the ``Edges:`` line;
    edges are ``a->b`` pairs on and after it. Edges that name an unknown step
    number, loops and repeats are dropped.
    """
    steps: list[str] = []
    label_to_pos: dict[int, int] = {}
    edge_text = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _EDGES_LINE.match(line):
            edge_text = "\n".join([line.split(":", 1)[1], *lines[i + 1:]])
            break
        m = _NODE_LINE.match(line)
        if m and int(m.group(1)) not in label_to_pos:
            label_to_pos[int(m.group(1))] = len(steps)
            steps.append(m.group(2))
    edges: list[tuple[int, int]] = []
    for a, b in _EDGE.findall(edge_text):
        pair = (label_to_pos.get(int(a)), label_to_pos.get(int(b)))
        if None not in pair and pair[0] != pair[1] and pair not in edges:
            edges.append(pair)  # type: ignore[arg-type]
    return steps, edges


def render_workflow(steps: Sequence[str], edges: Sequence[Sequence[int]]) -> str:
    """The answer format: numbered steps, then ``Edges:`` with 1-based ``a->b`` pairs."""
    lines = [f"{i}. {s}" for i, s in enumerate(steps, 1)]
    lines.append("Edges: " + ", ".join(f"{a}->{b}" for a, b in edges))
    return "\n".join(lines)


# --- scoring ---------------------------------------------------------------------------

def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def step_similarity(a: str, b: str) -> float:
    """F1 of the two steps' content words (multiset overlap): 1 for the same words, 0 for none shared."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    common = sum(min(wa.count(w), wb.count(w)) for w in set(wa))
    return 2 * common / (len(wa) + len(wb))


def match_steps(predicted: Sequence[str], gold: Sequence[str], threshold: float) -> dict[int, int]:
    """Predicted position -> gold index, by maximum total similarity over pairs at or above ``threshold``."""
    if not predicted or not gold:
        return {}
    sim = np.array([[step_similarity(p, g) for g in gold] for p in predicted])
    weight = np.where(sim >= threshold, sim, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols) if sim[r, c] >= threshold}


def longest_increasing(values: Sequence[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for v in values:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        tails[lo:lo + 1] = [v]
    return len(tails)


def f1(correct: int, n_predicted: int, n_gold: int) -> float:
    if correct == 0 or n_predicted == 0 or n_gold == 0:
        return 0.0
    precision, recall = correct / n_predicted, correct / n_gold
    return 2 * precision * recall / (precision + recall)


def node_f1(predicted: Sequence[str], gold: Sequence[str], threshold: float) -> float:
    """Node F1: matched steps that keep the gold order (LIS of matched gold indices)."""
    matched = match_steps(predicted, gold, threshold)
    correct = longest_increasing([matched[p] for p in sorted(matched)])
    return f1(correct, len(predicted), len(gold))


def largest_component(nodes: Sequence[int], edges: Sequence[tuple[int, int]]) -> int:
    """Size of the largest weakly connected component of ``nodes`` under ``edges`` (union-find)."""
    parent = {v: v for v in nodes}

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for a, b in edges:
        parent[root(a)] = root(b)
    sizes: dict[int, int] = {}
    for v in nodes:
        sizes[root(v)] = sizes.get(root(v), 0) + 1
    return max(sizes.values(), default=0)


def graph_f1(predicted: Sequence[str], predicted_edges: Sequence[tuple[int, int]], gold: Sequence[str],
             gold_edges: Sequence[Sequence[int]], threshold: float) -> float:
    """Graph F1: the largest connected component of matched steps under shared edges.

    ``predicted_edges`` are 0-based positions (as :func:`parse_workflow` gives),
    ``gold_edges`` 1-based pairs (as cases store them).
    """
    matched = match_steps(predicted, gold, threshold)
    gold_set = {(a - 1, b - 1) for a, b in gold_edges}
    shared = [(a, b) for a, b in predicted_edges
              if a in matched and b in matched and (matched[a], matched[b]) in gold_set]
    return f1(largest_component(list(matched), shared), len(predicted), len(gold))


# --- case generation -------------------------------------------------------------------

def _ancestors(needs: Sequence[Sequence[int]]) -> list[set[int]]:
    """Per step, every step it needs directly or through others (``needs`` in topological order)."""
    out: list[set[int]] = []
    for direct in needs:
        out.append(set(direct).union(*(out[d] for d in direct)))
    return out


def sub_workflow(needs: Sequence[Sequence[int]], chosen: Sequence[int]) -> list[list[int]]:
    """1-based edges among the ``chosen`` steps (sorted): each step needs the chosen steps it
    reaches in the full graph, minus those reached through another chosen step."""
    anc = _ancestors(needs)
    edges = []
    for j, b in enumerate(chosen):
        before = [a for a in chosen if a in anc[b]]
        for i, a in enumerate(chosen):
            if a in before and not any(a in anc[c] for c in before if c != a):
                edges.append([i + 1, j + 1])
    return edges


def describe(goal: str, steps: Sequence[str], edges: Sequence[Sequence[int]]) -> str:
    """The task as prose: each step in order, with what it must wait for."""
    sentences = [goal[0].upper() + goal[1:] + "."]
    for j, step in enumerate(steps, 1):
        needs = [a for a, b in edges if b == j]
        if not needs:
            sentences.append(f"{'First' if j == 1 else 'Separately'}, {step}.")
        elif needs == [j - 1]:
            sentences.append(f"Then {step}.")
        else:
            sentences.append(f"After you {' and '.join(steps[a - 1] for a in needs)}, {step}.")
    return " ".join(sentences)


def make_case(rng: random.Random, index: int, *, steps: int) -> dict:
    domain = DOMAINS[index % len(DOMAINS)] if index < len(DOMAINS) else rng.choice(DOMAINS)
    words = {slot: rng.choice(pool) for slot, pool in sorted(domain.slots.items())}
    chosen = sorted(rng.sample(range(len(domain.steps)), steps))
    texts = [domain.steps[i][0].format(**words) for i in chosen]
    edges = sub_workflow([needs for _, needs in domain.steps], chosen)
    return {"id": f"workflow-{index}", "task": describe(domain.goal.format(**words), texts, edges),
            "steps": texts, "edges": edges}


# --- prompts ---------------------------------------------------------------------------

def prompt(case: dict) -> str:
    return (f"Task: {case['task']}\nWrite each step on a numbered line, then one line 'Edges:' "
            "saying which steps must come before which (like 1->2).")


def answer(case: dict) -> str:
    return render_workflow(case["steps"], case["edges"])


# --- the suite -------------------------------------------------------------------------

@register_suite("workflow")
class Workflow(Suite):
    metrics = (
        Metric("node_f1", binary=False, max_drop=0.10,
               description="F1 of the steps written, matched to the gold steps in the gold order"),
        Metric("graph_f1", binary=False, max_drop=0.10,
               description="F1 of the largest connected part of the dependency graph got right"),
    )
    primary = "node_f1"
    defaults = {"n": 16, "seed": 0, "steps": 4, "shots": 1, "threshold": 0.6}
    param_rules = {"steps": Int(2, MAX_STEPS), "shots": Int(0, 8), "threshold": Number(0, 1, low_open=True)}
    case_fields = (
        CaseField("task", str, "the task in prose: the steps and what must come before what"),
        CaseField("steps", list, "the gold steps, short imperative phrases, in the order the task tells them",
                  items=str),
        CaseField("edges", list, "dependencies as 1-based [before, after] pairs of `steps` indices", items=list),
    )

    def cases(self) -> list[dict]:
        rng = random.Random(f"workflow/{self.params['seed']}")
        return [make_case(rng, i, steps=self.params["steps"]) for i in range(self.params["n"])]

    def check_user_case(self, index, case):
        check_case(case)

    def examples(self) -> list[dict]:
        """Worked examples shown before each case (drawn apart from the cases)."""
        rng = random.Random(f"workflow/shots/{self.params['seed']}")
        return [make_case(rng, len(DOMAINS) + i, steps=self.params["steps"]) for i in range(self.params["shots"])]

    def run(self, engine, cases, reference=None):
        shots = [(prompt(x), answer(x)) for x in self.examples()]
        # room for the gold answer and a little more: a longer answer is already wrong
        requests = [GenerationRequest(engine.format(prompt(c), shots=shots),
                                      len(engine.encode(answer(c))) + 12, ("\n\n",)) for c in cases]
        return [{"answer": text} for text in engine.generate(requests)]

    def score(self, case, output, reference=None):
        steps, edges = parse_workflow(output["answer"])
        t = self.params["threshold"]
        return {"node_f1": node_f1(steps, case["steps"], t),
                "graph_f1": graph_f1(steps, edges, case["steps"], case["edges"], t)}


def check_case(case: dict) -> None:
    """What the JSONL schema cannot say: steps are non-empty and edges name them."""
    def bad(field: str, why: str) -> DatasetError:
        return DatasetError(f"suite 'workflow', case {case['id']!r}, field {field!r}: {why}")

    if not case["steps"] or any(not content_words(s) for s in case["steps"]):
        raise bad("steps", "needs at least one step, each with at least one word")
    n = len(case["steps"])
    for e in case["edges"]:
        if not (isinstance(e, list) and len(e) == 2 and all(type(v) is int and 1 <= v <= n for v in e)
                and e[0] != e[1]):
            raise bad("edges", f"each edge is [before, after], two different step numbers 1..{n}; got {e!r}")
