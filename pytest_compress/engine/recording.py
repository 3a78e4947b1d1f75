"""An engine stand-in that records what a suite asks and answers nothing.

``RecordingEngine(tokenizer)`` in place of :class:`HFEngine`: a suite's
``run`` goes through, every multiple-choice request is kept in
:attr:`requests`, and the answers are blanks (zero log-likelihoods, empty
generations). :func:`pytest_compress.suites.replay.suite_choice_requests` uses it to replay
a suite's real requests elsewhere: scoring benchmarks, bf16-against-fp32 checks.
"""

from __future__ import annotations

from .prompt import PromptFormat
from .requests import ChoiceScore


class RecordingEngine:
    """An :class:`~.base.Engine` that keeps every choice request and answers with blanks."""

    name = "recording"
    capabilities = frozenset()
    cache_settings: dict = {}

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.format = PromptFormat(tokenizer)
        self.eos_token = tokenizer.eos_token or ""
        self.requests = []

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def score_choices(self, requests):
        self.requests += list(requests)
        return [[ChoiceScore(0.0, 1, False) for _ in r.choices] for r in requests]

    def generate(self, requests):
        return [""] * len(requests)

    def next_token_logits(self, texts, *, k=0, at=None, erank=None):
        import torch

        blank = []
        for text in texts:
            ids = torch.tensor(self.encode(text))
            entry = {"logsumexp": torch.zeros(len(ids)), "input_ids": ids, "target_values": torch.zeros(len(ids) - 1)}
            if k > 0:
                entry["topk_values"], entry["topk_ids"] = torch.zeros(len(ids), k), torch.zeros(len(ids), k, dtype=torch.long)
            if at is not None:
                entry["at_values"] = torch.zeros(len(ids), at[len(blank)].shape[-1])
            if erank is not None:
                entry["erank"] = 0.0
            blank.append(entry)
        return blank

