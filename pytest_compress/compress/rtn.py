"""Round-to-nearest (RTN) weight quantization: no calibration, per-group grids."""

from __future__ import annotations

from typing import Callable

import torch

from .layers import compressible_layers, set_weight_matrix, weight_matrix
from .quantizer import rtn_grid
from .registry import CompressionContext, CompressionMethod, LayerReport, register_method


def relative_error(W: torch.Tensor, W_hat: torch.Tensor) -> float:
    denom = torch.linalg.norm(W)
    return float(torch.linalg.norm(W - W_hat) / denom) if denom > 0 else 0.0


def quantize_layers(model, ctx: CompressionContext, quantize: Callable[[str, torch.Tensor], torch.Tensor]):
    """``quantize(name, W)`` applied to every compressible layer on its own (no calibration),
    pruned weights kept zero: RTN and the number formats."""
    layers = compressible_layers(model)
    reports = []
    for i, (name, module) in enumerate(layers.items()):
        W = weight_matrix(module)
        W_hat = quantize(name, W)
        if name in ctx.zero_masks:
            W_hat[ctx.zero_masks[name]] = 0.0
        set_weight_matrix(module, W_hat)
        reports.append(LayerReport(name, *W.shape, relative_error(W, W_hat)))
        ctx.tick(i + 1, len(layers), name)
    return reports


@register_method("rtn")
class RTN(CompressionMethod):
    """Each weight group is rounded independently onto its own min/max grid."""

    records_grid = True

    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        step = self.step

        def quantize(name, W):
            ctx.grids[name] = grid = rtn_grid(W, step.bits, step.group_size, step.symmetric)
            return grid.fake_quantize(W)

        return quantize_layers(model, ctx, quantize)
