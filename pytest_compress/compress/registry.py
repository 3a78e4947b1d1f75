"""Name -> compression method: its grammar, its class, the module that defines it.

Adding a method is one module plus its entry in :data:`METHOD_ENTRIES`: the entry names
the module (imported on first use, so nothing heavy loads at plugin import time), the
method's form in the spec grammar (with any option of its own) and a line for the valid
forms. The module defines a :class:`CompressionMethod` subclass decorated with
``@register_method("name")``. A method defined outside the package passes its form to
the decorator instead (``@register_method("tern", form=QuantizerForm(...))``), and its
spec parses as soon as its module is imported (e.g. from a conftest.py).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..errors import CompressUsageError, NotBuiltError, did_you_mean
from ..registry import Registry
from .forms import FormatForm, MethodStep, Option, PrunerForm, QuantizerForm

Form = QuantizerForm | PrunerForm | FormatForm


@dataclass(frozen=True)
class MethodEntry:
    """Where a method lives and how its steps are written."""

    module: str
    summary: str
    form: Form
    examples: str


METHOD_ENTRIES: dict[str, MethodEntry] = {
    "rtn": MethodEntry("pytest_compress.compress.rtn", "round-to-nearest", QuantizerForm(), "rtn8, rtn4g64, rtn3-sym"),
    "gptq": MethodEntry("pytest_compress.compress.gptq", "GPTQ",
                        QuantizerForm(options=(Option("act", "act-order: columns by decreasing Hessian diagonal"),)),
                        "gptq4, gptq3g64, gptq4-act"),
    "awq": MethodEntry("pytest_compress.compress.awq", "AWQ", QuantizerForm(), "awq4, awq3g64"),
    "wanda": MethodEntry("pytest_compress.compress.wanda", "Wanda pruning", PrunerForm(), "wanda50, wanda2:4"),
    "sparsegpt": MethodEntry("pytest_compress.compress.sparsegpt", "SparseGPT pruning", PrunerForm(),
                             "sparsegpt50, sparsegpt2:4"),
    "magnitude": MethodEntry("pytest_compress.compress.magnitude", "magnitude pruning", PrunerForm(),
                             "magnitude50, magnitude2:4"),
    "fp8": MethodEntry("pytest_compress.compress.fp8", "FP8",
                       FormatForm("e4m3 weights, one scale per output channel; dynamic e4m3 activations, one "
                                  "scale per token", bits=8, group_size=0,
                                  options=(Option("w", "weights only"),), runtime="activations",
                                  runtime_unless="w"), "fp8, fp8-w"),
    "w8a8": MethodEntry("pytest_compress.compress.w8a8", "INT8 W8A8",
                        FormatForm("int8 weights, one scale per output channel; dynamic int8 activations, one "
                                   "scale per token", bits=8, group_size=0,
                                   options=(Option("sq", "SmoothQuant smoothing first (calibrated, alpha 0.5)"),),
                                   runtime="activations"),
                        "w8a8, w8a8-sq"),
    "nvfp4": MethodEntry("pytest_compress.compress.fp4", "NVFP4",
                         FormatForm("e2m1 weights in groups of 16, FP8 e4m3 group scales, a float32 scale per "
                                    "tensor", bits=4, group_size=16,
                                    options=(Option("a", "activations too, dynamic, as the format defines"),),
                                    runtime="activations", runtime_if="a"),
                         "nvfp4, nvfp4-a"),
    "mxfp4": MethodEntry("pytest_compress.compress.fp4", "MXFP4",
                         FormatForm("e2m1 weights in groups of 32, power-of-two (E8M0) group scales", bits=4,
                                    group_size=32,
                                    options=(Option("a", "activations too, dynamic, as the format defines"),),
                                    runtime="activations", runtime_if="a"),
                         "mxfp4, mxfp4-a"),
    "kv8": MethodEntry("pytest_compress.compress.kv_cache", "FP8 KV cache",
                       FormatForm("keys and values in e4m3, one scale per token and head", runtime="kv_cache"),
                       "kv8, awq4+kv8"),
    "kvi8": MethodEntry("pytest_compress.compress.kv_cache", "INT8 KV cache",
                        FormatForm("keys and values in symmetric int8, one scale per token and head",
                                   runtime="kv_cache"), "kvi8"),
    "kvi4": MethodEntry("pytest_compress.compress.kv_cache", "INT4 KV cache",
                        FormatForm("keys and values in asymmetric int4, one scale and zero point per token and "
                                   "head", runtime="kv_cache"), "kvi4"),
}

METHODS_REGISTRY = Registry("compression method", {name: e.module for name, e in METHOD_ENTRIES.items()})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def register_method(name: str, *, form: Form | None = None, summary: str = "",
                    examples: str = ""):
    """Class decorator: register a :class:`CompressionMethod` under ``name``.

    A built-in method's form is its :data:`METHOD_ENTRIES` entry; any other method passes
    ``form`` (and a ``summary`` and ``examples`` for the valid forms) here.
    """
    if name not in METHOD_ENTRIES:
        if form is None:
            raise ValueError(f"compression method {name!r} has no entry in METHOD_ENTRIES: pass its form, "
                             f"e.g. @register_method({name!r}, form=QuantizerForm())")
        if name == "none" or not _NAME.match(name):
            raise ValueError(f"compression method name {name!r} must be lower-case letters, digits or '_', "
                             "start with a letter, and not be 'none'")
    register = METHODS_REGISTRY.register(name)

    def deco(cls):
        if form is not None:
            METHOD_ENTRIES[name] = MethodEntry(cls.__module__, summary or cls.__name__, form, examples)
        return register(cls)

    return deco


def method_names() -> tuple[str, ...]:
    """Every method the grammar knows, built in or registered."""
    return tuple(METHOD_ENTRIES)


def method_form(name: str) -> Form:
    return METHOD_ENTRIES[name].form


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
        grids: ``{layer name: WeightGrid}`` of the integer grid each layer was quantized
            onto, recorded by the integer quantizers (a later quantizing step replaces an
            earlier one's): what a packed export stores besides the codes.
    """

    calibration: object = None
    device: str = "cpu"
    seed: int = 0
    progress: Callable[[int, int, str], None] | None = None
    zero_masks: dict = field(default_factory=dict)
    forward_dtype: object = None
    grids: dict = field(default_factory=dict)

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
    needs_calibration: bool = False  # a method whose steps differ here makes it a property (w8a8-sq)
    #: it records each layer's integer grid in ``ctx.grids`` (what a packed export needs)
    records_grid: ClassVar[bool] = False
    #: compressed-tensors ``QuantizationArgs`` of the activations it quantizes at run time, for the export
    export_activations: ClassVar[dict | None] = None

    def __init__(self, step: MethodStep):
        self.step = step

    @abstractmethod
    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        """Compress ``model``'s weights in place."""

    @property
    def runtime_kind(self) -> str | None:
        """What this step quantizes while the model runs (``"activations"``, ``"kv_cache"``), from its form."""
        return method_form(self.step.method).runtime_kind(self.step)

    def attach(self, model) -> None:
        """Install what this step does while the model runs (quantized activations, a quantized
        KV cache; see :mod:`.runtime`). Called after :meth:`apply`, and again on a model whose
        weights came from the cache; weight-only methods have nothing to attach."""

    def bits_per_weight(self, cols: int) -> float | None:
        """Storage bits per weight of a ``cols``-wide layer this step leaves quantized, scales
        counted; None for a step that stores no quantized weights (pruning, KV cache)."""
        from .quantizer import bits_per_weight  # torch: not at spec-parsing time

        step = self.step
        return bits_per_weight(step.bits, step.group_size, cols, step.symmetric) if step.is_quantizer else None

    def runtime_bits(self, model) -> dict[str, float]:
        """Bits per activation element (``"activation"``) or per KV-cache element (``"kv"``)
        this step runs the model at, scales counted; empty for a weight-only step."""
        return {}


def get_method(name: str) -> type[CompressionMethod]:
    """The class registered for ``name``; raises a usage or not-built error otherwise."""
    if name not in METHOD_ENTRIES:
        raise CompressUsageError(
            f"unknown compression method {name!r}.{did_you_mean(name, method_names())} "
            f"Known methods: {', '.join(method_names())}"
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
    return ["none"] + [name for name in METHOD_ENTRIES if METHODS_REGISTRY.load(name) is not None]
