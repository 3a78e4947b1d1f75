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
from .quantizer import WeightGrid, group_bounds, max_q, row_qparams
from .registry import LayerReport, register_method
from .layers import set_weight_matrix, weight_matrix
from .rtn import relative_error

GPTQ_BLOCK_SIZE = 128
GPTQ_SUB_BLOCK = 16  # columns per inner lazy update (exact; only the memory traffic changes)
GPTQ_PERCDAMP = PERCDAMP
GPTQ_PRECISION = torch.float32  # all GPTQ math runs in this dtype, whatever the model's


def _grid(WgT: torch.Tensor, mask_gT, bits: int, symmetric: bool):
    """``(scale, lo, hi)`` per row for a group given transposed (``[group cols, rows]``).

    ``clamp(round(w / scale), lo, hi) * scale`` is the quantizer's
    ``(clamp(round(w / scale) + zero, 0, maxq) - zero) * scale`` with the zero folded
    into the bounds: exact (every term is an integer-valued float) and two kernels
    fewer per column.
    """
    if mask_gT is not None:
        WgT = WgT.masked_fill(mask_gT, 0.0)
    scale, zero = (t.flatten() for t in row_qparams(WgT, bits, symmetric, dim=0))
    return scale, -zero, max_q(bits) - zero


def gptq_quantize(W: torch.Tensor, H: torch.Tensor, bits: int, group_size: int, symmetric: bool = False,
                  act_order: bool = False, zero_mask: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
    """Fake-quantized ``W`` (``[rows, cols]``) given the layer's input Hessian ``H``; see :func:`gptq_grid`."""
    return gptq_grid(W, H, bits, group_size, symmetric, act_order, zero_mask, **kwargs)[0]


def gptq_grid(
    W: torch.Tensor,
    H: torch.Tensor,
    bits: int,
    group_size: int,
    symmetric: bool = False,
    act_order: bool = False,
    zero_mask: torch.Tensor | None = None,
    block_size: int = GPTQ_BLOCK_SIZE,
    percdamp: float = GPTQ_PERCDAMP,
) -> tuple[torch.Tensor, WeightGrid]:
    """Fake-quantized ``W`` (``[rows, cols]``) given the layer's input Hessian ``H``, and the
    grid it lies on.

    The weights are a transposed view (``WT.t()``); the caller's ``W`` is never written.
    """
    # The loop runs on a transposed copy: one column of W is then one contiguous row.
    WT = W.t().to(GPTQ_PRECISION, memory_format=torch.contiguous_format, copy=True)
    cols = WT.shape[0]
    H, _dead = prepare_hessian(H.to(GPTQ_PRECISION), WT.t(), percdamp)
    bounds = group_bounds(cols, group_size)
    group_of = torch.zeros(cols, dtype=torch.long)
    for g, (a, b) in enumerate(bounds):
        group_of[a:b] = g
    static = None
    if act_order or len(bounds) == 1:
        static = [_grid(WT[a:b], None if zero_mask is None else zero_mask[:, a:b].t(), bits, symmetric)
                  for a, b in bounds]
    perm = torch.arange(cols, device=WT.device)
    if act_order:
        perm = torch.argsort(torch.diag(H), descending=True)
        WT, H = WT[perm], H[perm][:, perm]
    maskT = None if zero_mask is None else zero_mask.to(WT.device)[:, perm].t().contiguous()
    group_end = dict(bounds)
    # Python lists: the column loop runs cols times per layer, so no tensor indexing in it.
    static_of_col = None if static is None else [static[g] for g in group_of[perm].tolist()]
    Hinv = inverse_cholesky(H)
    QT = torch.empty_like(WT)
    grid = None
    grids = {} if static is None else dict(zip((a for a, _ in bounds), static))  # group start -> grid
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        W1 = WT[i1:i2]  # updated in place: the loop owns WT
        Err1 = torch.empty_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        # Row views and pivots made once per block: the loop below is Python-bound, so
        # each column runs seven small kernels and no indexing of its own.
        w_rows, q_rows, err_rows, h_rows = W1.unbind(), QT[i1:i2].unbind(), Err1.unbind(), Hinv1.unbind()
        pivots = Hinv1.diagonal().tolist()
        # Sub-blocks bound the per-column rank-1 updates to a few columns; a group
        # starting inside the block starts a sub-block, so its grid sees every update
        # of the block so far, exactly as with the reference's single-level loop.
        cuts = sorted({*range(0, i2 - i1, GPTQ_SUB_BLOCK), *(a - i1 for a in group_end if i1 < a < i2), i2 - i1})
        for s1, s2 in zip(cuts, cuts[1:]):
            for i in range(s1, s2):
                col = i1 + i
                if static_of_col is not None:
                    grid = static_of_col[col]
                elif col in group_end:
                    end = group_end[col]
                    # W1 is a view of WT: this sees the block's updates so far, and not yet
                    # the block's lazy update of later columns, as in the reference.
                    grid = _grid(WT[col:end], None if maskT is None else maskT[col:end], bits, symmetric)
                    grids[col] = grid
                scale, lo, hi = grid
                w, q, err = w_rows[i], q_rows[i], err_rows[i]
                torch.div(w, scale, out=q).round_().clamp_(lo, hi).mul_(scale)
                if maskT is not None:
                    q.masked_fill_(maskT[col], 0.0)
                torch.sub(w, q, out=err).div_(pivots[i])
                if i + 1 < s2:
                    W1[i + 1 : s2].addr_(h_rows[i][i + 1 : s2], err, alpha=-1)
            W1[s2:].addmm_(Hinv1[s1:s2, s2:].t(), Err1[s1:s2], alpha=-1)
        WT[i2:].addmm_(Hinv[i1:i2, i2:].t(), Err1, alpha=-1)
    if act_order:
        QT = QT[torch.argsort(perm)]
    QT += 0.0  # a column rounded to -0.0 stores as +0.0 (what (q - zero) * scale of the packed codes gives)
    ordered = [grids[a] for a, _ in bounds]
    scale = torch.stack([g[0] for g in ordered], dim=1)
    return QT.t(), WeightGrid(bits, group_size, symmetric, scale, -torch.stack([g[1] for g in ordered], dim=1))


@register_method("gptq")
class GPTQ(HessianMethod):
    """GPTQ on every decoder-block linear, calibrated block by block.

    The linears of one input group (q/k/v, gate/up) share a Hessian, and GPTQ
    treats rows independently, so a group's weights are stacked row-wise and
    quantized in one pass: one inverse Cholesky and one column loop per group.
    """

    records_grid = True

    def compress_block(self, block, prefix, groups, accs):
        step, reports = self.step, []
        for group in groups:
            modules = [block.get_submodule(name) for name in group.names]
            weights = [weight_matrix(m) for m in modules]
            masks = [self.ctx.zero_masks.get(prefix + name) for name in group.names]
            mask = None if all(m is None for m in masks) else torch.cat(
                [torch.zeros_like(W, dtype=torch.bool) if m is None else m.to(W.device) for W, m in zip(weights, masks)])
            Q, grid = gptq_grid(torch.cat(weights), accs[group].H, step.bits, step.group_size, step.symmetric,
                                "act" in step.options, mask)
            start = 0
            for name, module, W, Qw in zip(group.names, modules, weights, Q.split([W.shape[0] for W in weights])):
                set_weight_matrix(module, Qw)
                self.ctx.grids[prefix + name] = grid.rows(start, start + W.shape[0])
                start += W.shape[0]
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, Qw)))
        return reports
