"""Batched scoring and generation behind one small interface (:class:`Engine`), and its
HF transformers backend.

``HFEngine`` is imported on first use: suites import :mod:`.requests` at collection,
before any model is needed, and that must not pay torch's import.
"""

from .base import CAPABILITIES, HIDDEN_STATES, Engine, check_serves
from .requests import ChoiceRequest, ChoiceScore, GenerationRequest

__all__ = ["CAPABILITIES", "ChoiceRequest", "ChoiceScore", "Engine", "GenerationRequest", "HFEngine",
           "HIDDEN_STATES", "check_serves"]


def __getattr__(name: str):
    if name == "HFEngine":
        from .hf import HFEngine

        return HFEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
