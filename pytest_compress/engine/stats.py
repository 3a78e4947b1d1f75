"""The per-position statistics of next-token logits that the agreement suites read.

Every engine computes them the same way from one text's ``[positions, vocabulary]``
logit rows, so two backends' statistics differ only by their logits.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..metrics.agreement import effective_rank


def position_stats(logits: torch.Tensor, ids: Sequence[int], *, k: int = 0, at: torch.Tensor | None = None,
                   erank_of: torch.Tensor | None = None) -> dict:
    """Float32 CPU tensors for one text: ``logsumexp`` per position (energy, log-probs),
    ``input_ids``, ``target_values`` (the logit of each actual next token, for perplexity);
    ``topk_values``/``topk_ids`` when ``k > 0``; ``at_values`` (the logits at the token ids
    ``at``, ``[positions, j]``) when given; ``erank``, the effective rank of ``erank_of`` (the
    logits or hidden states), when given."""
    row = logits.float()
    targets = torch.tensor(ids[1:], device=row.device)
    entry = {
        "logsumexp": torch.logsumexp(row, -1).cpu(),
        "input_ids": torch.tensor(ids),
        "target_values": row[:-1].gather(-1, targets[:, None])[:, 0].cpu(),
    }
    if k > 0:
        vals, top = row.topk(k, dim=-1)
        entry["topk_values"], entry["topk_ids"] = vals.cpu(), top.cpu()
    if at is not None:
        entry["at_values"] = row.gather(-1, at.to(row.device)).cpu()
    if erank_of is not None:
        entry["erank"] = effective_rank(erank_of.float())
    return entry
