"""Batched scoring and generation behind one small interface (HF transformers backend).

``HFEngine`` is imported on first use: suites import :mod:`.requests` at collection,
before any model is needed, and that must not pay torch's import.
"""

from .requests import ChoiceRequest, ChoiceScore, GenerationRequest

__all__ = ["ChoiceRequest", "ChoiceScore", "GenerationRequest", "HFEngine"]


def __getattr__(name: str):
    if name == "HFEngine":
        from .hf import HFEngine

        return HFEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
