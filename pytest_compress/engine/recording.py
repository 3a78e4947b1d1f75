"""An engine stand-in that records what a suite asks and answers nothing.

``RecordingEngine(tokenizer)`` in place of :class:`HFEngine`: a suite's
``run`` goes through, every multiple-choice request is kept in
:attr:`requests`, and the answers are blanks (zero log-likelihoods, empty
generations). Used to replay a suite's real requests elsewhere: scoring
benchmarks, bf16-against-fp32 checks.
"""

from __future__ import annotations

from .hf import PromptFormat
from .requests import ChoiceScore


class RecordingEngine:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.format = PromptFormat(tokenizer)
        self.requests = []

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def score_choices(self, requests):
        self.requests += list(requests)
        return [[ChoiceScore(0.0, 1, False) for _ in r.choices] for r in requests]

    def generate(self, requests):
        return [""] * len(requests)


def suite_choice_requests(tokenizer, selection: str) -> tuple[list, dict[str, int]]:
    """The choice requests of each ``suite[:n]`` in the comma list ``selection``
    (e.g. ``"tool_use:4,rag:2"``), and how many came from each suite."""
    from ..suites.registry import get_suite

    requests, counts = [], {}
    for item in selection.split(","):
        name, _, n = item.partition(":")
        suite = get_suite(name)(**({"n": int(n)} if n else {}))
        recorder = RecordingEngine(tokenizer)
        suite.run(recorder, suite.load_cases(), None)
        requests += recorder.requests
        counts[name] = len(recorder.requests)
    return requests, counts
