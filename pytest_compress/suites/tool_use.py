"""``tool_use``: T-Eval-style tool calling on a generated catalogue.

Each case is a user request that one tool of the catalogue serves, shown with
``n_options - 1`` distractor tools. Metrics per case:

* ``retrieve``: asked what to do about the request, the model gives the right
  tool's description the highest log-likelihood among the ``n_options``
  candidates' descriptions (listing the options in the prompt made SmolLM2-135M
  worse: 22% against 67% measured on 64 cases, chance 25%);
* ``instruct``: greedy generation of the call, given the right tool's signature
  and ``shots`` worked examples as earlier chat turns, parses as ``name(param="value", ...)`` with exactly the
  right name and arguments (order-free);
* ``overall``: the mean of the two (the suite's score).

Cases come from a seeded generator over :mod:`.tool_catalogue`; nothing is downloaded.
"""

from __future__ import annotations

import random
import re

from ..engine.requests import ChoiceRequest, GenerationRequest
from .base import Metric, Suite
from .registry import register_suite
from .tool_catalogue import TOOLS

_CALL = re.compile(r"([A-Za-z_]\w*)\s*\((.*?)\)", re.S)
_ARG = re.compile(r"""([A-Za-z_]\w*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^,\s)]+))""")


def make_case(rng: random.Random, index: int, n_options: int) -> dict:
    names = sorted(TOOLS)
    tool = names[index % len(names)] if index < len(names) else rng.choice(names)
    description, params, templates = TOOLS[tool]
    args: dict[str, str] = {}
    for pname, pool in params:
        choices = [v for v in pool if v not in args.values()]
        args[pname] = rng.choice(choices)
    request = rng.choice(templates).format(**args)
    others = rng.sample([n for n in names if n != tool], n_options - 1)
    options = others + [tool]
    rng.shuffle(options)
    return {"id": f"tool_use-{index}", "tool": tool, "args": args, "request": request, "options": options}


def parse_call(text: str) -> tuple[str, dict[str, str]] | None:
    """``name(a="x", b=y)`` -> ``("name", {"a": "x", "b": "y"})``; None when no call is found."""
    m = _CALL.search(text.strip().strip("`"))
    if not m:
        return None
    args = {a.group(1): next(g for g in a.groups()[1:] if g is not None) for a in _ARG.finditer(m.group(2))}
    return m.group(1), args


def gold_call(case: dict) -> str:
    args = ", ".join(f'{k}="{v}"' for k, v in case["args"].items())
    return f"{case['tool']}({args})"


@register_suite("tool_use")
class ToolUse(Suite):
    metrics = (
        Metric("overall", binary=False, max_drop=0.10, description="mean of retrieve and instruct"),
        Metric("retrieve", max_drop=0.10, description="prefers the right tool's description as the action"),
        Metric("instruct", max_drop=0.10, description="writes the call with exactly the right arguments"),
    )
    primary = "overall"
    defaults = {"n": 100, "seed": 0, "n_options": 4, "shots": 3}

    def cases(self) -> list[dict]:
        rng = random.Random(f"tool_use/{self.params['seed']}")
        return [make_case(rng, i, self.params["n_options"]) for i in range(self.params["n"])]

    def examples(self) -> list[dict]:
        """Worked examples shown before each instruct case (drawn apart from the cases)."""
        rng = random.Random(f"tool_use/shots/{self.params['seed']}")
        return [make_case(rng, 10_000 + i, self.params["n_options"]) for i in range(self.params["shots"])]

    @staticmethod
    def retrieve_prompt(case: dict) -> str:
        return f"Request: {case['request']}\nWhat should I do?"

    @staticmethod
    def instruct_prompt(case: dict) -> str:
        params = TOOLS[case["tool"]][1]
        return f"Tool: {case['tool']}({', '.join(p for p, _ in params)})\nRequest: {case['request']}\nWrite the tool call."

    def run(self, engine, cases, reference=None):
        fmt = engine.format
        shots = [(self.instruct_prompt(x), gold_call(x)) for x in self.examples()]
        choice_scores = engine.score_choices(
            [ChoiceRequest(fmt(self.retrieve_prompt(c)), tuple(TOOLS[o][0] for o in c["options"])) for c in cases]
        )
        calls = engine.generate(
            [GenerationRequest(fmt(self.instruct_prompt(c), shots=shots), 40, ("\n",)) for c in cases]
        )
        return [
            {"choice_logprobs": [s.logprob for s in scores], "call": call}
            for scores, call in zip(choice_scores, calls)
        ]

    def score(self, case, output, reference=None):
        lps = output["choice_logprobs"]
        picked = case["options"][max(range(len(lps)), key=lambda i: (lps[i], -i))]
        retrieve = float(picked == case["tool"])
        parsed = parse_call(output["call"])
        instruct = float(parsed is not None and parsed[0] == case["tool"] and parsed[1] == case["args"])
        return {"retrieve": retrieve, "instruct": instruct, "overall": (retrieve + instruct) / 2}
