"""Name -> compression method class. Adding a method is adding one module.

A method module defines a subclass of :class:`CompressionMethod` decorated with
``@register_method("name")``; :data:`METHOD_MODULES` lists the modules imported
on first lookup, so that nothing heavy loads at plugin import time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..errors import CompressUsageError, NotBuiltError, did_you_mean
from ..registry import Registry
from ..spec import METHODS, MethodStep

# Modules that register methods when imported; a missing one means "not built yet".
METHOD_MODULES = {
    "rtn": "pytest_compress.compress.rtn",
    "gptq": "pytest_compress.compress.gptq",
    "awq": "pytest_compress.compress.awq",
    "wanda": "pytest_compress.compress.wanda",
    "sparsegpt": "pytest_compress.compress.sparsegpt",
    "magnitude": "pytest_compress.compress.magnitude",
}

METHODS_REGISTRY = Registry("compression method", METHOD_MODULES)
register_method = METHODS_REGISTRY.register


@dataclass(frozen=True)
class LayerReport:
    """What one step did to one layer: its shape and relative weight error ||W-W'||/||W||."""

    name: str
    rows: int
    cols: int
    rel_error: float


@dataclass
class CompressionContext:
    """Inputs a method may need besides the model.

    Attributes:
        calibration: token ids ``[samples, seq_len]`` (LongTensor) or None.
        device: where to run the layer-wise work.
        seed: for any randomness a method has.
        progress: ``progress(done, total, label)`` called per layer; may be None.
        zero_masks: ``{layer name: bool mask}`` of weights earlier pruning steps
            zeroed; quantizers keep them zero so stacked sparsity survives.
        forward_dtype: dtype the calibration forward passes compute in under
            autocast (e.g. bfloat16, as the references run fp16 models); None =
            the weights' own dtype. Statistics and weight updates stay float32.
    """

    calibration: object = None
    device: str = "cpu"
    seed: int = 0
    progress: Callable[[int, int, str], None] | None = None
    zero_masks: dict = field(default_factory=dict)
    forward_dtype: object = None

    def tick(self, done: int, total: int, label: str) -> None:
        if self.progress is not None:
            self.progress(done, total, label)


class CompressionMethod(ABC):
    """One algorithm, configured by one :class:`MethodStep`.

    Lifecycle: construct with the step, then :meth:`apply` once to a model; it
    rewrites the compressible layers' weights in place and returns one
    :class:`LayerReport` per layer.
    """

    name: ClassVar[str]
    needs_calibration: ClassVar[bool] = False

    def __init__(self, step: MethodStep):
        self.step = step

    @abstractmethod
    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        """Compress ``model`` in place."""


def get_method(name: str) -> type[CompressionMethod]:
    """The class registered for ``name``; raises a usage or not-built error otherwise."""
    if name not in METHODS:
        raise CompressUsageError(
            f"unknown compression method {name!r}.{did_you_mean(name, METHODS)} "
            f"Known methods: {', '.join(METHODS)}"
        )
    cls = METHODS_REGISTRY.load(name)
    if cls is None:
        raise NotBuiltError(
            f"compression method {name!r} is part of the spec grammar but is not built "
            f"in this version of pytest-compress. Built methods: {', '.join(built_methods())}"
        )
    return cls


def built_methods() -> list[str]:
    """Names whose module exists and registers a method (imports them)."""
    return ["none"] + [name for name in METHOD_MODULES if METHODS_REGISTRY.load(name) is not None]
