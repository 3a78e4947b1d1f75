"""SparseGPT (Frantar & Alistarh 2023): OBS pruning with weight reconstruction.

Follows the reference IST-DASLab ``fasterprune``: columns are processed in
blocks of :data:`SPARSEGPT_BLOCK_SIZE`; for each block the prune mask is
chosen by the OBS saliency ``w^2 / diag(H^-1)^2`` (with the weights already
updated by earlier blocks), then each column's pruned weights are zeroed and
the resulting error is spread over the remaining columns through the inverse
Hessian (shared with GPTQ, :mod:`.hessian`).

Mask selection:
  * unstructured ``p``%: exactly ``round(rows * block_cols * p/100)`` weights of
    each column block, compared across the whole block (all rows), as the
    reference does; per-row sparsity therefore varies around ``p``.
  * N:M: inside each run of M columns, per row, the ``M - N`` lowest saliencies,
    decided when the loop reaches the run's first column.
Weights an earlier step already zeroed stay zero.
"""

from __future__ import annotations

import torch

from .hessian import PERCDAMP, HessianMethod, inverse_cholesky, prepare_hessian
from .layers import set_weight_matrix, weight_matrix
from .registry import LayerReport, register_method
from .rtn import relative_error

SPARSEGPT_BLOCK_SIZE = 128
SPARSEGPT_PERCDAMP = PERCDAMP


def _lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask of the ``k`` smallest entries of ``scores`` (exactly ``k``, ties broken by index)."""
    mask = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    if k > 0:
        mask[torch.topk(scores.flatten(), k, largest=False).indices] = True
    return mask.view_as(scores)


def sparsegpt_prune(
    W: torch.Tensor,
    H: torch.Tensor,
    sparsity: float | None = None,
    n_of_m: tuple[int, int] | None = None,
    zero_mask: torch.Tensor | None = None,
    block_size: int = SPARSEGPT_BLOCK_SIZE,
    percdamp: float = SPARSEGPT_PERCDAMP,
) -> torch.Tensor:
    """Pruned and reconstructed ``W`` (``[rows, cols]``) for input Hessian ``H``."""
    W = W.float().clone()
    rows, cols = W.shape
    H, _dead = prepare_hessian(H.float(), W, percdamp)
    Hinv = inverse_cholesky(H)
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        d = torch.diag(Hinv1).unsqueeze(0)
        if n_of_m is None:
            mask1 = _lowest(W1**2 / d**2, round(W1.numel() * sparsity))
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        if zero_mask is not None:
            mask1 |= zero_mask[:, i1:i2].to(mask1.device)
        for i in range(i2 - i1):
            if n_of_m is not None and (i1 + i) % n_of_m[1] == 0:
                n, m = n_of_m
                width = min(m, cols - (i1 + i))
                k = width - min(n, width)
                if k > 0:
                    sal = W1[:, i : i + width] ** 2 / d[:, i : i + width] ** 2
                    idx = torch.topk(sal, k, dim=1, largest=False).indices
                    mask1[:, i : i + width].scatter_(1, idx, True)
            w = W1[:, i]
            q = w.masked_fill(mask1[:, i], 0.0)
            Q1[:, i] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return W


@register_method("sparsegpt")
class SparseGPT(HessianMethod):
    def compress_block(self, block, prefix, groups, accs):
        reports = []
        sparsity = None if self.step.n_of_m else self.step.sparsity
        for group in groups:
            for name in group.names:
                module = block.get_submodule(name)
                W = weight_matrix(module)
                W_hat = sparsegpt_prune(
                    W, accs[group].H, sparsity, self.step.n_of_m, self.ctx.zero_masks.get(prefix + name)
                )
                set_weight_matrix(module, W_hat)
                reports.append(LayerReport(prefix + name, *W.shape, relative_error(W, W_hat)))
        return reports
