"""Hessian accumulation, damping and the inverse-Cholesky factor shared by GPTQ and SparseGPT.

Both methods minimise ``||X W^T - X W_hat^T||^2`` layer by layer, whose Hessian
with respect to a row of ``W`` is ``H = 2 X^T X``. As in the reference
IST-DASLab code, ``H`` is a running mean over calibration *samples* (the
leading batch dimension: one sequence counts once, whatever its length), kept
in float32 whatever the model's dtype.
"""

from __future__ import annotations

import warnings

import torch

from ..errors import CompressWarning

from .layers import weight_matrix
from .registry import CompressionContext, CompressionMethod, LayerReport
from .sequential import run_sequential

# Fraction of the mean Hessian diagonal added to the diagonal before inversion.
PERCDAMP = 0.01
# If the Cholesky factorisation still fails, multiply the damping by this, this many times.
DAMP_GROWTH, DAMP_RETRIES = 10.0, 4
# Column blocks of the Gram product X^T X (at least 128 columns each); 4 saves 3/8 of its flops.
GRAM_BLOCKS = 4


def add_gram(H: torch.Tensor, x: torch.Tensor, alpha: float, blocks: int = GRAM_BLOCKS) -> None:
    """``H += alpha * x^T x`` computing only the upper triangle's column blocks and
    mirroring them: ``(k + 1) / 2k`` of the full product's flops for ``k`` blocks."""
    k = max(1, min(blocks, x.shape[1] // 128))
    width = -(-x.shape[1] // k)
    parts = x.split(width, dim=1)
    for i, xi in enumerate(parts):
        rows = slice(i * width, (i + 1) * width)
        for j in range(i, len(parts)):
            cols = slice(j * width, (j + 1) * width)
            block = xi.t() @ parts[j]
            H[rows, cols].add_(block, alpha=alpha)
            if j > i:
                H[cols, rows].add_(block.t(), alpha=alpha)


class HessianAccumulator:
    """``H = 2/n sum_i X_i^T X_i`` over the ``n`` samples seen so far.

    Lifecycle: create empty with the layer's input width, :meth:`add_batch` once
    per forward call of the layer, read :attr:`H`, then :meth:`free`.
    """

    def __init__(self, cols: int, device="cpu"):
        self.H: torch.Tensor | None = torch.zeros(cols, cols, dtype=torch.float32, device=device)
        self.nsamples = 0

    def add_batch(self, x: torch.Tensor) -> None:
        """Fold in the layer inputs ``x`` (``[batch, seq, cols]`` or ``[tokens, cols]``)."""
        if x.dim() == 2:
            x = x.unsqueeze(0)
        n = x.shape[0]
        x = x.reshape(-1, x.shape[-1]).to(self.H.device, torch.float32)
        self.H *= self.nsamples / (self.nsamples + n)
        self.nsamples += n
        add_gram(self.H, x, 2 / self.nsamples)

    def free(self) -> None:
        self.H = None


def prepare_hessian(H: torch.Tensor, W: torch.Tensor, percdamp: float = PERCDAMP):
    """Damped copy of ``H`` and the dead-column mask, zeroing ``W``'s dead columns in place.

    A column whose input was always zero (``H[j, j] == 0``) cannot influence the
    output: its weights are set to 0 and its diagonal to 1 so ``H`` stays
    invertible. Then ``percdamp * mean(diag(H))`` is added to the diagonal.
    """
    H = H.clone().float()
    dead = torch.diag(H) == 0
    if bool(dead.any()):  # boolean indexing is slow on large W even when it selects nothing
        H[dead, dead] = 1.0
        W[:, dead] = 0.0
    idx = torch.arange(H.shape[0], device=H.device)
    H[idx, idx] += percdamp * torch.mean(torch.diag(H))
    return H, dead


def _lower_triangular_inverse(L: torch.Tensor, leaf: int = 128) -> torch.Tensor:
    """``L^-1`` for lower-triangular ``L``, by halves: ``[[A, 0], [B, C]]^-1`` is
    ``[[A^-1, 0], [-C^-1 B A^-1, C^-1]]``. That is ``n^3 / 3`` flops, mostly in
    matmuls; a triangular solve against the identity would do ``n^3``."""
    n = L.shape[0]
    if n <= leaf:
        return torch.linalg.solve_triangular(L, torch.eye(n, dtype=L.dtype, device=L.device), upper=False)
    h = n // 2
    A, C = _lower_triangular_inverse(L[:h, :h], leaf), _lower_triangular_inverse(L[h:, h:], leaf)
    out = torch.zeros_like(L)
    out[:h, :h], out[h:, h:] = A, C
    torch.matmul(C, L[h:, :h] @ A, out=out[h:, :h]).neg_()
    return out


def inverse_cholesky(H: torch.Tensor) -> torch.Tensor:
    """Upper Cholesky factor ``U`` of ``H^-1`` (``H^-1 = U^T U``), as the OBS updates use.

    Row ``i`` of ``U`` divided by ``U[i, i]`` is the update direction for the
    remaining columns after fixing column ``i``. With ``J`` the reversal
    permutation and ``J H J = L L^T``, ``U = J L^-1 J``: one Cholesky and one
    triangular inverse, where the reference's Cholesky / inverse / Cholesky does
    about twice the work for the same factor. If ``H`` is not positive definite
    (numerically), more damping is added and the factorisation retried.
    """
    damp = torch.mean(torch.diag(H)) * 0.01
    idx = torch.arange(H.shape[0], device=H.device)
    for attempt in range(DAMP_RETRIES + 1):
        L, info = torch.linalg.cholesky_ex(H.flip(0, 1))
        if int(info) == 0:
            if attempt:  # the updates then follow a smoothed Hessian: said, so it is not silent
                warnings.warn(CompressWarning(
                    f"a {H.shape[0]}x{H.shape[0]} Hessian was not positive definite; extra damping was added "
                    "until it factorised (more calibration tokens usually avoid it)"))
            return _lower_triangular_inverse(L).flip(0, 1)
        H = H.clone()
        H[idx, idx] += damp * DAMP_GROWTH**attempt
    raise torch.linalg.LinAlgError("Hessian is not positive definite even after extra damping")


class HessianMethod(CompressionMethod):
    """A method compressing each linear from its inputs' Hessian ``X^T X`` (GPTQ, SparseGPT),
    calibrated block by block."""

    needs_calibration = True

    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        self.ctx = ctx
        return run_sequential(model, ctx, self)

    def new_accumulator(self, group, linears, tokens):
        module = linears[group.names[0]]
        return HessianAccumulator(weight_matrix(module).shape[1], module.weight.device)
