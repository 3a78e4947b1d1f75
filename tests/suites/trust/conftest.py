"""Hand-made raw outputs for the trust suites' scorer tests."""

import pytest
from fakes import FakeEngine

from pytest_compress.engine import ChoiceScore


def choice_output(case: dict, label: str | None) -> dict:
    """Choice-mode output whose likeliest option is ``label`` (None: the refusal option)."""
    labels = case["labels"]
    best = len(labels) if label is None else labels.index(label)
    return {"logprobs": [0.0 if i == best else -4.0 - i for i in range(len(labels) + 1)]}


@pytest.fixture
def answered():
    return choice_output


class PickingEngine(FakeEngine):
    """Formats prompts with their parts visible; answers every choice request with the given
    option index, every generation with the given text."""

    def __init__(self, pick=0, text="Yes"):
        super().__init__(answer=lambda request: text)
        self.pick = pick

    def format(self, user, system=None, shots=()):
        return f"{system or ''}|{shots}|{user}"

    def score_choices(self, requests):
        self.requests += list(requests)
        return [[ChoiceScore(0.0 if i == self.pick else -1.0, 1, i == self.pick) for i in range(len(r.choices))]
                for r in requests]


@pytest.fixture
def fake_engine():
    return PickingEngine
