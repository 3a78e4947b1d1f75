"""Magnitude pruning: zero the smallest ``|W|`` per output row; no calibration.

Also home of :func:`prune_mask`, the per-row selection rule Wanda shares:
  * unstructured ``p``%: exactly ``round(cols * p / 100)`` weights per row;
  * N:M: in every run of M consecutive input columns keep the N highest scores
    (a ragged last run of ``r < M`` columns keeps ``min(N, r)``).
"""

from __future__ import annotations

import torch

from .forms import MethodStep
from .layers import compressible_layers, set_weight_matrix, weight_matrix
from .registry import CompressionContext, CompressionMethod, LayerReport, register_method
from .rtn import relative_error


def prune_mask(scores: torch.Tensor, step: MethodStep) -> torch.Tensor:
    """Bool mask (True = prune) of the lowest ``scores`` per row under ``step``'s pattern."""
    rows, cols = scores.shape
    mask = torch.zeros_like(scores, dtype=torch.bool)
    if step.n_of_m is None:
        k = round(cols * step.sparsity_pct / 100)
        if k > 0:
            idx = torch.topk(scores, k, dim=1, largest=False).indices
            mask.scatter_(1, idx, True)
        return mask
    n, m = step.n_of_m
    for start in range(0, cols, m):
        width = min(m, cols - start)
        k = width - min(n, width)
        if k > 0:
            idx = torch.topk(scores[:, start : start + width], k, dim=1, largest=False).indices
            mask[:, start : start + width].scatter_(1, idx, True)
    return mask


@register_method("magnitude")
class Magnitude(CompressionMethod):
    """Per-row ``|W|`` pruning, unstructured percent or N:M."""

    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        layers = compressible_layers(model)
        reports = []
        for i, (name, module) in enumerate(layers.items()):
            W = weight_matrix(module)
            W_hat = W.masked_fill(prune_mask(W.abs(), self.step), 0.0)
            set_weight_matrix(module, W_hat)
            reports.append(LayerReport(name, *W.shape, relative_error(W, W_hat)))
            ctx.tick(i + 1, len(layers), name)
        return reports
