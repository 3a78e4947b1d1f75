"""The 4-bit floating formats NVFP4 and MXFP4: E2M1 values in small groups with their own scales.

NVFP4 groups 16 weights under an FP8 e4m3 scale and one float32 scale per tensor; the
tensors a runtime fuses (q/k/v, gate/up) share that scale, as vLLM's kernels require.
MXFP4 (OCP microscaling) groups 32 weights under a power-of-two scale. The grids are in
:mod:`.number_formats`. ``-a`` quantizes the compressed layers' inputs too, at run time,
in the same format (NVFP4's per-tensor scale taken per token: dynamic).
"""

from __future__ import annotations

import torch

from ..errors import CompressError
from .layers import compressible_layers, weight_matrix
from .number_formats import (
    MXFP4_GROUP, NVFP4_GROUP, fake_quantize_mxfp4, fake_quantize_nvfp4, nvfp4_global_scale,
)
from .registry import CompressionMethod, register_method
from .runtime import attach_activations
from .rtn import quantize_layers
from .weight_formats import activation_bits, fused_sets


class FP4Method(CompressionMethod):
    group: int
    scale_bits: int

    def _check_widths(self, model) -> dict[str, torch.Tensor]:
        weights = {name: weight_matrix(m) for name, m in compressible_layers(model).items()}
        ragged = sorted(n for n, W in weights.items() if W.shape[1] % self.group)
        if ragged:
            raise CompressError(f"{self.step} needs every compressed layer's input width to be a multiple of "
                                f"{self.group}; {len(ragged)} are not (first: {ragged[0]}, "
                                f"{weights[ragged[0]].shape[1]} wide)")
        return weights

    def attach(self, model) -> None:
        if self.runtime_kind:
            attach_activations(model, self.step.method)

    def bits_per_weight(self, cols: int) -> float:
        # the e4m3 / e8m0 group scale; NVFP4's one float32 per tensor is below 0.0001 bits a weight here
        return 4 + self.scale_bits / self.group

    def runtime_bits(self, model) -> dict[str, float]:
        if not self.runtime_kind:
            return {}
        return {"activation": activation_bits(model, 4, self.scale_bits, self.group)}


@register_method("nvfp4")
class NVFP4(FP4Method):
    group, scale_bits = NVFP4_GROUP, 8

    def apply(self, model, ctx):
        weights = self._check_widths(model)
        amax = {n: W.abs().amax() for n, W in weights.items()}
        global_scales = {n: nvfp4_global_scale(torch.stack([amax[m] for m in members]).amax())
                         for n, members in fused_sets(weights).items()}
        return quantize_layers(model, ctx, lambda name, W: fake_quantize_nvfp4(W, global_scales[name]))


@register_method("mxfp4")
class MXFP4(FP4Method):
    group, scale_bits = MXFP4_GROUP, 8

    def apply(self, model, ctx):
        self._check_widths(model)
        return quantize_layers(model, ctx, lambda name, W: fake_quantize_mxfp4(W))
