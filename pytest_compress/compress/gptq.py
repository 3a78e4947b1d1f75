"""GPTQ (Frantar et al. 2022): column-by-column quantization with OBS error feedback.

Each layer's weight is quantized one input column at a time; the rounding error
of column ``j``, divided by the inverse-Hessian pivot, is pushed onto the
not-yet-quantized columns so the layer's output ``X W^T`` moves as little as
possible. Updates are applied lazily in blocks of :data:`GPTQ_BLOCK_SIZE`
columns, as in the reference IST-DASLab implementation.

Groups (``step.group_size``):
  * without act-order, a group's grid is computed when the loop reaches the
    group's first column, from the weights as updated so far (the reference's
    dynamic groups; as there, columns past the current lazy block do not yet
    carry that block's pending update); a ragged last group has fewer columns.
  * with act-order (``-act``), columns are visited in decreasing ``diag(H)``
    order but groups stay *contiguous in the original column order* with grids
    computed up front from the original weights ("static groups"), so the
    result is storable by ordinary group-quantized kernels with no ``g_idx``.

Weights an earlier pruning step zeroed (``ctx.zero_masks``) are quantized to
exactly 0 and their error is fed back like any other rounding error.
"""

from __future__ import annotations

import torch

from .hessian import PERCDAMP, HessianMethod, inverse_cholesky, prepare_hessian
from .quantizer import fake_quantize, group_bounds, row_qparams
from .registry import LayerReport, register_method
from .layers import set_weight_matrix, weight_matrix
from .rtn import relative_error

GPTQ_BLOCK_SIZE = 128
GPTQ_PERCDAMP = PERCDAMP
GPTQ_PRECISION = torch.float32  # all GPTQ math runs in this dtype, whatever the model's


def _params(Wg: torch.Tensor, mask_g, bits: int, symmetric: bool):
    if mask_g is not None:
        Wg = Wg.masked_fill(mask_g, 0.0)
    return row_qparams(Wg, bits, symmetric)


def gptq_quantize(
    W: torch.Tensor,
    H: torch.Tensor,
    bits: int,
    group_size: int,
    symmetric: bool = False,
    act_order: bool = False,
    zero_mask: torch.Tensor | None = None,
    block_size: int = GPTQ_BLOCK_SIZE,
    percdamp: float = GPTQ_PERCDAMP,
) -> torch.Tensor:
    """Fake-quantized ``W`` (``[rows, cols]``) given the layer's input Hessian ``H``."""
    W = W.to(GPTQ_PRECISION).clone()
    rows, cols = W.shape
    H, _dead = prepare_hessian(H.to(GPTQ_PRECISION), W, percdamp)
    bounds = group_bounds(cols, group_size)
    group_of = torch.zeros(cols, dtype=torch.long)
    for g, (a, b) in enumerate(bounds):
        group_of[a:b] = g
    static = None
    if act_order or len(bounds) == 1:
        static = [_params(W[:, a:b], None if zero_mask is None else zero_mask[:, a:b], bits, symmetric) for a, b in bounds]
    perm = torch.arange(cols, device=W.device)
    if act_order:
        perm = torch.argsort(torch.diag(H), descending=True)
        W, H = W[:, perm], H[perm][:, perm]
    mask = None if zero_mask is None else zero_mask.to(W.device)[:, perm]
    starts = {a for a, _ in bounds}
    Hinv = inverse_cholesky(H)
    Q = torch.zeros_like(W)
    scale = zero = None
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        W1 = W[:, i1:i2].clone()
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = i1 + i
            orig = int(perm[col])
            if static is not None:
                scale, zero = static[int(group_of[orig])]
            elif col in starts:
                end = next(b for a, b in bounds if a == col)
                Wg = torch.cat([W1[:, i : end - i1], W[:, i2:end]], dim=1)
                scale, zero = _params(Wg, None if mask is None else mask[:, col:end], bits, symmetric)
            w = W1[:, i]
            q = fake_quantize(w.unsqueeze(1), scale, zero, bits).flatten()
            if mask is not None:
                q = q.masked_fill(mask[:, col], 0.0)
            Q[:, col] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    if act_order:
        Q = Q[:, torch.argsort(perm)]
    return Q


@register_method("gptq")
class GPTQ(HessianMethod):
    """GPTQ on every decoder-block linear, calibrated block by block."""

    def compress_block(self, block, prefix, groups, accs):
        step, reports = self.step, []
        for group in groups:
            for name in group.names:
                module = block.get_submodule(name)
                W = weight_matrix(module)
                Q = gptq_quantize(
                    W, accs[group].H, step.bits, step.group_size, step.symmetric, step.act_order,
                    self.ctx.zero_masks.get(prefix + name),
                )
                set_weight_matrix(module, Q)
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, Q)))
        return reports
