"""Hand-made raw outputs for the trust suites' scorer tests."""

import pytest


def choice_output(case: dict, label: str | None) -> dict:
    """Choice-mode output whose likeliest option is ``label`` (None: the refusal option)."""
    labels = case["labels"]
    best = len(labels) if label is None else labels.index(label)
    return {"logprobs": [0.0 if i == best else -4.0 - i for i in range(len(labels) + 1)]}


@pytest.fixture
def answered():
    return choice_output


class FakeEngine:
    """Formats prompts plainly; answers every choice request with the given option index,
    every generation with the given text."""

    def __init__(self, pick=0, text="Yes"):
        self.pick, self.text, self.requests = pick, text, []

    def format(self, user, system=None, shots=()):
        return f"{system or ''}|{shots}|{user}"

    def score_choices(self, requests):
        from pytest_compress.engine.requests import ChoiceScore

        self.requests += list(requests)
        return [[ChoiceScore(0.0 if i == self.pick else -1.0, 1, i == self.pick) for i in range(len(r.choices))]
                for r in requests]

    def generate(self, requests):
        self.requests += list(requests)
        return [self.text for _ in requests]


@pytest.fixture
def fake_engine():
    return FakeEngine
