"""A model-free :class:`~pytest_compress.engine.Engine` for suite tests.

``FakeEngine`` serves the whole interface: prompts formatted plainly (``format`` may be
replaced), each choice scored by ``logprob(context, choice)`` (greedy where it is the best
of its request), generations answered by ``answer(request)``, next-token logits from a
seeded table over byte tokens. Every choice and generation request is kept in ``requests``.
Suite tests subclass it to script the answers they need.
"""

from __future__ import annotations

import torch

from pytest_compress.engine import CAPABILITIES, ChoiceScore
from pytest_compress.engine.stats import position_stats

VOCABULARY = 256  # byte tokens


class FakeEngine:
    name = "fake"
    capabilities = CAPABILITIES
    eos_token = "</s>"
    cache_settings: dict = {}

    def __init__(self, logprob=None, answer=None):
        self.logprob = logprob or (lambda context, choice: 0.0)
        self.answer = answer or (lambda request: "")
        self.requests = []
        self._table = torch.randn(VOCABULARY, VOCABULARY, generator=torch.Generator().manual_seed(0))

    def format(self, user, system=None, shots=()):
        return "".join(f"{q}\n{a}\n" for q, a in shots) + (f"{system}\n" if system else "") + user

    def encode(self, text):
        return list(text.encode())

    def score_choices(self, requests):
        self.requests += list(requests)
        out = []
        for r in requests:
            logprobs = [self.logprob(r.context, c) for c in r.choices]
            out.append([ChoiceScore(lp, len(self.encode(c)), lp == max(logprobs))
                        for lp, c in zip(logprobs, r.choices)])
        return out

    def generate(self, requests):
        self.requests += list(requests)
        return [self.answer(r) for r in requests]

    def next_token_logits(self, texts, *, k=0, at=None, erank=None):
        stats = []
        for i, text in enumerate(texts):
            ids = self.encode(text)
            logits = self._table[ids]
            stats.append(position_stats(logits, ids, k=k, at=None if at is None else at[i],
                                        erank_of=logits if erank else None))
        return stats
