"""INT8 W8A8: int8 weights per output channel, int8 activations per token, optionally smoothed.

Weights: symmetric int8 with ``scale = amax(row) / 127.5`` and codes in [-128, 127], the
grid compressed-tensors writes for vLLM's W8A8 kernels. Activations: the same grid per
token, at run time. ``-sq`` first applies SmoothQuant (Xiao et al. 2023): per input
channel ``s = max|X|^0.5 / max|W|^0.5`` (``max|W|`` over every linear reading ``X``), ``X``
divided by ``s`` through the norm that produces it and ``W`` multiplied by it, so the
unquantized function is unchanged and the activations' outlier channels move into the
weights, which per-channel int8 holds better. Only inputs produced by a norm are smoothed
(q/k/v and gate/up in a Llama block), as in the paper; the others are quantized unsmoothed.
"""

from __future__ import annotations

import warnings

import torch

from ..errors import CompressWarning
from .awq import fold_into_norm
from .layers import name_patterns, set_weight_matrix, weight_matrix
from .number_formats import symmetric_int_scale
from .quantizer import WeightGrid
from .registry import CompressionMethod, LayerReport, register_method
from .rtn import quantize_layers, relative_error
from .runtime import attach_activations
from .sequential import run_sequential
from .weight_formats import activation_bits

SMOOTHQUANT_ALPHA = 0.5
SMOOTHQUANT_MIN_SCALE = 1e-5


def int8_row_grid(W: torch.Tensor) -> WeightGrid:
    """Symmetric int8, one scale per row: codes ``q - 128`` in [-128, 127]."""
    scale = symmetric_int_scale(W, 8, dim=1)
    return WeightGrid(8, 0, True, scale, torch.full_like(scale, 128.0))


class ChannelMax:
    """``max |x|`` per input channel over every calibration token."""

    def __init__(self, cols: int, device="cpu"):
        self.max = torch.zeros(cols, dtype=torch.float32, device=device)

    def add_batch(self, x: torch.Tensor) -> None:
        self.max = torch.maximum(self.max, x.reshape(-1, x.shape[-1]).abs().amax(0).to(self.max))

    def free(self) -> None:
        self.max = None


def smoothing_scales(x_max: torch.Tensor, w_max: torch.Tensor, alpha: float = SMOOTHQUANT_ALPHA) -> torch.Tensor:
    return (x_max.pow(alpha) / w_max.pow(1 - alpha)).clamp(min=SMOOTHQUANT_MIN_SCALE)


@register_method("w8a8")
class W8A8(CompressionMethod):
    records_grid = True
    export_activations = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "token", "dynamic": True}

    @property
    def needs_calibration(self) -> bool:
        return "sq" in self.step.options

    def apply(self, model, ctx):
        self.ctx = ctx
        if "sq" not in self.step.options:
            return quantize_layers(model, ctx, lambda name, W: self._quantize(name, W))
        self.unsmoothed = []
        reports = run_sequential(model, ctx, self)
        if self.unsmoothed:
            warnings.warn(CompressWarning(f"{len(self.unsmoothed)} layers not smoothed (their input comes from no "
                                          f"norm to fold the scales into): {name_patterns(self.unsmoothed)}"))
        return reports

    def new_accumulator(self, group, linears, tokens):
        module = linears[group.names[0]]
        return ChannelMax(weight_matrix(module).shape[1], module.weight.device)

    def compress_block(self, block, prefix, groups, accs):
        reports = []
        for group in groups:
            mods = [block.get_submodule(n) for n in group.names]
            originals = [weight_matrix(m) for m in mods]
            s = None
            if group.producer is not None:
                w_max = torch.cat(originals).abs().amax(0).clamp(min=SMOOTHQUANT_MIN_SCALE)
                s = smoothing_scales(accs[group].max, w_max)
                if not fold_into_norm(group.producer, s):
                    s = None
            if s is None:
                self.unsmoothed.extend(prefix + n for n in group.names)
            for name, module, W in zip(group.names, mods, originals):
                Q = self._quantize(prefix + name, W if s is None else W * s)
                if prefix + name in self.ctx.zero_masks:
                    Q[self.ctx.zero_masks[prefix + name]] = 0.0
                set_weight_matrix(module, Q)
                effective = Q if s is None else Q / s
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, effective)))
        return reports

    def _quantize(self, name: str, W: torch.Tensor) -> torch.Tensor:
        self.ctx.grids[name] = grid = int8_row_grid(W)
        return grid.fake_quantize(W)

    def attach(self, model) -> None:
        attach_activations(model, "int8")

    def runtime_bits(self, model) -> dict[str, float]:
        return {"activation": activation_bits(model, 8, scale_bits=32)}
