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
GPTQ_SUB_BLOCK = 16  # columns per inner lazy update (exact; only the memory traffic changes)
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
        static = [tuple(t[:, 0] for t in _params(W[:, a:b], None if zero_mask is None else zero_mask[:, a:b], bits, symmetric))
                  for a, b in bounds]
    perm = torch.arange(cols, device=W.device)
    if act_order:
        perm = torch.argsort(torch.diag(H), descending=True)
        W, H = W[:, perm], H[perm][:, perm]
    # The loop runs on transposed copies: one column of W is then one contiguous row.
    WT = W.t().contiguous()
    maskT = None if zero_mask is None else zero_mask.to(W.device)[:, perm].t().contiguous()
    group_end = dict(bounds)
    # Python lists: the column loop runs cols times per layer, so no tensor indexing in it.
    static_of_col = None if static is None else [static[g] for g in group_of[perm].tolist()]
    Hinv = inverse_cholesky(H)
    QT = torch.empty_like(WT)
    scale = zero = None
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        W1 = WT[i1:i2].clone()
        Err1 = torch.empty_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        # Sub-blocks bound the per-column rank-1 updates to a few columns; a group
        # starting inside the block starts a sub-block, so its grid sees every update
        # of the block so far, exactly as with the reference's single-level loop.
        cuts = sorted({*range(0, i2 - i1, GPTQ_SUB_BLOCK), *(a - i1 for a in group_end if i1 < a < i2), i2 - i1})
        for s1, s2 in zip(cuts, cuts[1:]):
            for i in range(s1, s2):
                col = i1 + i
                if static_of_col is not None:
                    scale, zero = static_of_col[col]
                elif col in group_end:
                    end = group_end[col]
                    Wg = torch.cat([W1[i : end - i1], WT[i2:end]]).t()
                    scale, zero = (t[:, 0] for t in _params(Wg, None if maskT is None else maskT[col:end].t(), bits, symmetric))
                w = W1[i]
                q = fake_quantize(w, scale, zero, bits)
                if maskT is not None:
                    q.masked_fill_(maskT[col], 0.0)
                QT[col] = q
                err = (w - q).div_(Hinv1[i, i])
                W1[i:s2].addr_(Hinv1[i, i:s2], err, alpha=-1)
                Err1[i] = err
            W1[s2:].addmm_(Hinv1[s1:s2, s2:].t(), Err1[s1:s2], alpha=-1)
        WT[i2:].addmm_(Hinv[i1:i2, i2:].t(), Err1, alpha=-1)
    Q = QT.t()
    if act_order:
        Q = Q[:, torch.argsort(perm)]
    return Q.contiguous()


@register_method("gptq")
class GPTQ(HessianMethod):
    """GPTQ on every decoder-block linear, calibrated block by block.

    The linears of one input group (q/k/v, gate/up) share a Hessian, and GPTQ
    treats rows independently, so a group's weights are stacked row-wise and
    quantized in one pass: one inverse Cholesky and one column loop per group.
    """

    def compress_block(self, block, prefix, groups, accs):
        step, reports = self.step, []
        for group in groups:
            modules = [block.get_submodule(name) for name in group.names]
            weights = [weight_matrix(m) for m in modules]
            masks = [self.ctx.zero_masks.get(prefix + name) for name in group.names]
            mask = None if all(m is None for m in masks) else torch.cat(
                [torch.zeros_like(W, dtype=torch.bool) if m is None else m.to(W.device) for W, m in zip(weights, masks)])
            Q = gptq_quantize(torch.cat(weights), accs[group].H, step.bits, step.group_size, step.symmetric,
                              step.act_order, mask)
            for name, module, W, Qw in zip(group.names, modules, weights, Q.split([W.shape[0] for W in weights])):
                set_weight_matrix(module, Qw)
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, Qw)))
        return reports
