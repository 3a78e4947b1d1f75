"""The request kinds the engine serves; suites build lists of these and never see a batch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChoiceRequest:
    """Score every continuation in ``choices`` after the shared ``context``."""

    context: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceScore:
    """Log-likelihood of one continuation: summed log-prob, its token count, and
    whether greedy decoding would have produced it exactly."""

    logprob: float
    n_tokens: int
    greedy: bool


@dataclass(frozen=True)
class GenerationRequest:
    """Greedy continuation of ``prompt``, cut at the first of ``stop`` or after ``max_new_tokens``."""

    prompt: str
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ()
