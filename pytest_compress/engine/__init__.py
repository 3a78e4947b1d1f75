"""Batched scoring and generation behind one small interface (HF transformers backend)."""

from .hf import HFEngine
from .requests import ChoiceRequest, ChoiceScore, GenerationRequest

__all__ = ["ChoiceRequest", "ChoiceScore", "GenerationRequest", "HFEngine"]
