"""Agreement between a baseline and a compressed model's next-token logits.

Pure functions on torch tensors, in the spirit of ACBench (rank agreement of
the top-k tokens, effective rank, energy).  Inputs are cast to float32 (or
float64 internally where it buys accuracy cheaply); nothing here needs a GPU,
but tensors may live on any device.

Conventions
-----------
* Rank correlations are per position, over the baseline's top-k token values
  and the compressed logits at the same token ids.  Ties are handled as in
  ``scipy.stats.kendalltau`` (tau-b) and ``scipy.stats.spearmanr`` (average
  ranks).  Where scipy returns NaN because a row is constant, we return 1.0
  if BOTH rows are constant (both models are indifferent between the k
  tokens: full agreement) and 0.0 if only one is (no ordering information to
  agree with).
* ``energy`` is ``-T * logsumexp(logits / T)`` (T=1 by default); masked-out
  positions are set to 0.0, so use the mask again when averaging.
* ``token_nll`` uses the causal-LM shift: logits at position t score token
  t+1.  A target counts only if both it and its context position are real
  tokens (``mask[:, t] & mask[:, t+1]``), so the first token of a sequence
  (and the first real token after left padding) is never scored.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "kendall_tau_at_topk",
    "spearman_at_topk",
    "topk_agreement",
    "topk_jaccard",
    "effective_rank",
    "effective_rank_cov",
    "energy",
    "mean_abs_energy_gap",
    "centered_energy_gap",
    "kl_divergence",
    "top1_flips",
    "token_nll",
    "corpus_perplexity",
]

_ROW_CHUNK = 8192  # rows of [P, k, k] pairwise work processed at once
_ZERO_ROW = 1e-10  # relative norm below which a centred row counts as zero


def _pair_rows(base_vals: torch.Tensor, comp_vals: torch.Tensor):
    if base_vals.shape != comp_vals.shape or base_vals.dim() != 2:
        raise ValueError(f"expected two [P, k] tensors of the same shape, got "
                         f"{tuple(base_vals.shape)} and {tuple(comp_vals.shape)}")
    return base_vals.to(torch.float64), comp_vals.to(torch.float64)


def _degenerate(value: torch.Tensor, x_const: torch.Tensor, y_const: torch.Tensor) -> torch.Tensor:
    both = x_const & y_const
    one = x_const ^ y_const
    value = torch.where(both, torch.ones_like(value), value)
    return torch.where(one, torch.zeros_like(value), value)


def _sign_matrix(x: torch.Tensor) -> torch.Tensor:
    """sign(x_i - x_j) for each row: [p, k] -> [p, k, k] (int8)."""
    a, b = x.unsqueeze(-1), x.unsqueeze(-2)
    return (a > b).to(torch.int8) - (a < b).to(torch.int8)


def kendall_tau_at_topk(base_vals: torch.Tensor, comp_vals: torch.Tensor) -> torch.Tensor:
    """Kendall tau-b per row of two [P, k] tensors -> float32 [P].

    Equals ``scipy.stats.kendalltau(base_vals[i], comp_vals[i])`` (tau-b)
    except for constant rows (see module docstring).
    """
    x, y = _pair_rows(base_vals, comp_vals)
    out = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    for s in range(0, x.shape[0], _ROW_CHUNK):
        sx, sy = _sign_matrix(x[s:s + _ROW_CHUNK]), _sign_matrix(y[s:s + _ROW_CHUNK])
        conc = (sx.to(torch.int32) * sy).sum(dim=(-1, -2)).to(torch.float64) / 2
        n1 = (sx != 0).sum(dim=(-1, -2)).to(torch.float64) / 2
        n2 = (sy != 0).sum(dim=(-1, -2)).to(torch.float64) / 2
        tau = conc / torch.sqrt(n1 * n2)
        out[s:s + _ROW_CHUNK] = _degenerate(tau, n1 == 0, n2 == 0)
    return out.clamp(-1.0, 1.0).to(torch.float32)


def _average_ranks(x: torch.Tensor) -> torch.Tensor:
    """1-based average ranks per row (ties share the mean rank)."""
    a, b = x.unsqueeze(-1), x.unsqueeze(-2)
    less = (b < a).sum(-1).to(torch.float64)
    equal = (b == a).sum(-1).to(torch.float64)
    return less + (equal + 1.0) / 2.0


def spearman_at_topk(base_vals: torch.Tensor, comp_vals: torch.Tensor) -> torch.Tensor:
    """Spearman rho per row of two [P, k] tensors -> float32 [P].

    Equals ``scipy.stats.spearmanr(base_vals[i], comp_vals[i]).statistic``
    except for constant rows (see module docstring).
    """
    x, y = _pair_rows(base_vals, comp_vals)
    out = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    for s in range(0, x.shape[0], _ROW_CHUNK):
        rx, ry = _average_ranks(x[s:s + _ROW_CHUNK]), _average_ranks(y[s:s + _ROW_CHUNK])
        rx = rx - rx.mean(-1, keepdim=True)
        ry = ry - ry.mean(-1, keepdim=True)
        vx, vy = (rx * rx).sum(-1), (ry * ry).sum(-1)
        rho = (rx * ry).sum(-1) / torch.sqrt(vx * vy)
        out[s:s + _ROW_CHUNK] = _degenerate(rho, vx == 0, vy == 0)
    return out.clamp(-1.0, 1.0).to(torch.float32)


def topk_jaccard(base_idx: torch.Tensor, comp_idx: torch.Tensor) -> torch.Tensor:
    """|A & B| / |A | B| of the token-id sets in each row -> float32 [P].

    Rows may have different widths (k) on the two sides; duplicate ids within
    a row count once.  Two empty rows give 1.0.
    """
    if base_idx.dim() != 2 or comp_idx.dim() != 2 or base_idx.shape[0] != comp_idx.shape[0]:
        raise ValueError("expected [P, k1] and [P, k2] index tensors")

    def first_occurrence(t):
        srt, _ = torch.sort(t, dim=-1)
        first = torch.ones_like(srt, dtype=torch.bool)
        first[:, 1:] = srt[:, 1:] != srt[:, :-1]
        return srt, first

    a, fa = first_occurrence(base_idx)
    b, _ = first_occurrence(comp_idx)
    in_b = (a.unsqueeze(-1) == b.unsqueeze(-2)).any(-1)
    inter = (in_b & fa).sum(-1).to(torch.float32)
    size_a = fa.sum(-1).to(torch.float32)
    size_b = first_occurrence(comp_idx)[1].sum(-1).to(torch.float32)
    union = size_a + size_b - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def topk_agreement(base_logits: torch.Tensor, comp_logits: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Convenience: tau-b, Spearman (baseline's top-k, compressed values at
    the same ids) and top-k Jaccard for [..., V] logits flattened to [P, V]."""
    bl = base_logits.reshape(-1, base_logits.shape[-1])
    cl = comp_logits.reshape(-1, comp_logits.shape[-1])
    bvals, bidx = torch.topk(bl, k, dim=-1)
    cvals = torch.gather(cl, -1, bidx)
    cidx = torch.topk(cl, k, dim=-1).indices
    return {"kendall_tau": kendall_tau_at_topk(bvals, cvals),
            "spearman": spearman_at_topk(bvals, cvals),
            "jaccard": topk_jaccard(bidx, cidx)}


def _entropy_rank(weights: torch.Tensor) -> float:
    w = weights.clamp_min(0)
    total = w.sum()
    if total <= 0:
        return 0.0
    p = w / total
    p = p[p > 0]
    return float(torch.exp(-(p * torch.log(p)).sum()))


def effective_rank(matrix: torch.Tensor, chunk: int = 8192) -> float:
    """ACBench ERank of an [N, D] matrix via the N x N Gram matrix.

    Rows are centred by the column mean over the N rows, scaled to unit L2
    norm (rows that are zero after centring -- norm below 1e-10 times the
    largest raw row norm, i.e. rounding noise -- stay zero), and
    ``erank = exp(-sum p_i log p_i)`` with ``p_i = sigma_i^2 / sum sigma^2``,
    taking ``sigma_i^2`` as the eigenvalues of ``A A^T`` (clamped at 0).  The
    Gram matrix is accumulated in float64 over column chunks, so no D x D
    matrix and no float64 copy of the whole input is formed.  Returns 0.0 if
    every centred row is zero.
    """
    if matrix.dim() != 2:
        raise ValueError("expected an [N, D] matrix")
    n, d = matrix.shape
    gram = torch.zeros(n, n, dtype=torch.float64, device=matrix.device)
    raw = torch.zeros(n, dtype=torch.float64, device=matrix.device)
    for s in range(0, d, chunk):
        block = matrix[:, s:s + chunk].to(torch.float64)
        raw += (block * block).sum(dim=1)
        block = block - block.mean(dim=0, keepdim=True)
        gram += block @ block.T
    norms = torch.sqrt(torch.diagonal(gram).clamp_min(0))
    keep = norms > _ZERO_ROW * torch.sqrt(raw.max()) if n else norms > 0
    inv = torch.where(keep, 1.0 / norms.clamp_min(1e-300), torch.zeros_like(norms))
    gram = gram * inv[:, None] * inv[None, :]
    # the small N x N eigenproblem goes to numpy/LAPACK on CPU: torch's
    # multithreaded eigvalsh can stall for seconds on a busy CPU
    return _entropy_rank(torch.from_numpy(np.linalg.eigvalsh(gram.cpu().numpy())))


def effective_rank_cov(matrix: torch.Tensor) -> float:
    """Same ERank from the singular values of the centred, row-normalised
    matrix itself (the covariance form; forms the full float64 [N, D])."""
    a = matrix.to(torch.float64)
    scale = a.norm(dim=1).max() if a.shape[0] else a.new_zeros(())
    a = a - a.mean(dim=0, keepdim=True)
    norms = a.norm(dim=1, keepdim=True)
    a = torch.where(norms > _ZERO_ROW * scale, a / norms.clamp_min(1e-300), torch.zeros_like(a))
    return _entropy_rank(torch.from_numpy(np.linalg.svd(a.cpu().numpy(), compute_uv=False)) ** 2)


def energy(logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Free energy ``-T logsumexp(logits / T)`` over V: [B, T, V] -> [B, T].

    Positions where ``mask`` is false/0 are set to 0.0.
    """
    if logits.shape[:-1] != mask.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != logits[..., 0] shape {tuple(logits.shape[:-1])}")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    e = -temperature * torch.logsumexp(logits.to(torch.float32) / temperature, dim=-1)
    return torch.where(mask.bool(), e, torch.zeros_like(e))


def mean_abs_energy_gap(e_base: torch.Tensor, e_comp: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of |e_base - e_comp| over the unmasked positions (ValueError if none)."""
    m = mask.bool()
    if not bool(m.any()):
        raise ValueError("mask selects no positions")
    gap = (e_base.to(torch.float64) - e_comp.to(torch.float64)).abs()
    return float(gap[m].mean())


def centered_energy_gap(e_base: torch.Tensor, e_comp: torch.Tensor, mask: torch.Tensor) -> float:
    """:func:`mean_abs_energy_gap` after removing the median difference over the
    unmasked positions: blind to a shift of every energy by one constant (which
    leaves each next-token distribution as it was)."""
    m = mask.bool()
    if not bool(m.any()):
        raise ValueError("mask selects no positions")
    diff = (e_comp.to(torch.float64) - e_base.to(torch.float64))[m]
    return float((diff - diff.median()).abs().mean())


def kl_divergence(base_logits: torch.Tensor, comp_logits: torch.Tensor) -> torch.Tensor:
    """KL(p_base || p_comp) per position in float32: [..., V] -> [...].

    Tokens with zero baseline probability contribute 0; a token the baseline
    allows but the compressed model gives -inf contributes +inf.
    """
    if base_logits.shape != comp_logits.shape:
        raise ValueError("logit shapes differ")
    lb = torch.log_softmax(base_logits.to(torch.float32), dim=-1)
    lc = torch.log_softmax(comp_logits.to(torch.float32), dim=-1)
    pb = lb.exp()
    terms = torch.where(pb > 0, pb * (lb - lc), torch.zeros_like(pb))
    return terms.sum(-1).clamp_min(0.0)


def top1_flips(base_logits: torch.Tensor, comp_logits: torch.Tensor) -> torch.Tensor:
    """True where the argmax token differs: [..., V] -> bool [...]."""
    if base_logits.shape != comp_logits.shape:
        raise ValueError("logit shapes differ")
    return base_logits.argmax(-1) != comp_logits.argmax(-1)


def token_nll(logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-token negative log-likelihood, [B, T, V] -> float32 [B, T-1].

    Entry t is ``-log p(input_ids[:, t+1] | logits[:, t])``; entries whose
    target or context position is masked are 0.0.  Sum it and count
    ``(mask[:, 1:] & mask[:, :-1])`` for ``corpus_perplexity``.
    """
    if logits.dim() != 3 or input_ids.shape != logits.shape[:2]:
        raise ValueError("expected logits [B, T, V] and input_ids [B, T]")
    if mask is None:
        mask = torch.ones_like(input_ids, dtype=torch.bool)
    valid = mask[:, 1:].bool() & mask[:, :-1].bool()
    lp = torch.log_softmax(logits[:, :-1].to(torch.float32), dim=-1)
    nll = -torch.gather(lp, -1, input_ids[:, 1:].long().unsqueeze(-1)).squeeze(-1)
    return torch.where(valid, nll, torch.zeros_like(nll))


def corpus_perplexity(nll_sum: float | torch.Tensor, n_tokens: int | torch.Tensor) -> float:
    """Token-weighted perplexity ``exp(total NLL / total tokens)``."""
    total, count = float(nll_sum), float(n_tokens)
    if count <= 0:
        raise ValueError("n_tokens must be positive")
    return math.exp(total / count)
