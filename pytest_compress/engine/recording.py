"""An engine stand-in that records what a suite asks and answers nothing.

``RecordingEngine(tokenizer)`` in place of :class:`HFEngine`: a suite's
``run`` goes through, every multiple-choice request is kept in
:attr:`requests`, and the answers are blanks (zero log-likelihoods, empty
generations). :func:`pytest_compress.suites.replay.suite_choice_requests` uses it to replay
a suite's real requests elsewhere: scoring benchmarks, bf16-against-fp32 checks.
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

