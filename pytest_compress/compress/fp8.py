"""FP8 (e4m3): weights with one scale per output channel, activations dynamic per token.

The scheme llm-compressor calls FP8_DYNAMIC and vLLM runs with its FP8 kernels:
``scale = amax(row) / 448``, weights rounded to e4m3 by torch's ``float8_e4m3fn``;
the inputs of every compressed linear are rounded the same way at run time, one scale
per token (``-w``: weights only, activations left in the evaluation dtype).
"""

from __future__ import annotations

from .number_formats import fake_quantize_fp8
from .registry import CompressionMethod, register_method
from .runtime import attach_activations
from .rtn import quantize_layers
from .weight_formats import activation_bits


@register_method("fp8")
class FP8(CompressionMethod):
    def apply(self, model, ctx):
        return quantize_layers(model, ctx, lambda name, W: fake_quantize_fp8(W, dim=1))

    def attach(self, model) -> None:
        if self.runtime_kind:
            attach_activations(model, "fp8")

    def runtime_bits(self, model) -> dict[str, float]:
        return {"activation": activation_bits(model, 8, scale_bits=32)} if self.runtime_kind else {}
