"""Wanda (Sun et al. 2023): prune by ``|W_ij| * ||X_j||_2``, compared within each output row.

``||X_j||_2`` is the L2 norm of input feature ``j`` over every calibration
token reaching the layer, accumulated block by block by the sequential loop
(so block ``i`` sees the inputs produced by the already-pruned blocks before
it, as in the reference). No weight update. Pattern rules: see
:func:`~pytest_compress.compress.magnitude.prune_mask`.
"""

from __future__ import annotations

import torch

from .layers import set_weight_matrix, weight_matrix
from .magnitude import prune_mask
from .registry import CompressionContext, CompressionMethod, LayerReport, register_method
from .rtn import relative_error
from .sequential import run_sequential


class FeatureNormAccumulator:
    """Running ``sum_t x_tj^2`` per input feature ``j``; create, add_batch, read, free."""

    def __init__(self, cols: int, device="cpu"):
        self.sq_sum: torch.Tensor | None = torch.zeros(cols, dtype=torch.float32, device=device)

    def add_batch(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(self.sq_sum.device, torch.float32)
        self.sq_sum += (x * x).sum(dim=0)

    @property
    def norms(self) -> torch.Tensor:
        return self.sq_sum.sqrt()

    def free(self) -> None:
        self.sq_sum = None


def wanda_mask(W: torch.Tensor, feature_norms: torch.Tensor, step) -> torch.Tensor:
    """Bool mask (True = prune) from scores ``|W| * ||X_j||``."""
    return prune_mask(W.abs() * feature_norms.unsqueeze(0), step)


@register_method("wanda")
class Wanda(CompressionMethod):
    needs_calibration = True

    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        return run_sequential(model, ctx, self)

    def new_accumulator(self, group, linears, tokens):
        module = linears[group.names[0]]
        return FeatureNormAccumulator(weight_matrix(module).shape[1], module.weight.device)

    def compress_block(self, block, prefix, groups, accs):
        reports = []
        for group in groups:
            for name in group.names:
                module = block.get_submodule(name)
                W = weight_matrix(module)
                W_hat = W.masked_fill(wanda_mask(W, accs[group].norms, self.step), 0.0)
                set_weight_matrix(module, W_hat)
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, W_hat)))
        return reports
