"""``agreement.rank_correlation``: do the two models rank next tokens alike?

ACBench's top-k ranking correlation. On a seeded set of generated texts, at
every position, the compressed model's logits at the baseline's top-``k``
token ids are rank-correlated with the baseline's own top-``k`` logits.
Per case (one text) the value is the mean over its positions; the baseline
compared with itself scores 1 by construction.

Metrics: ``tau`` (Kendall tau-b, gated by ``min`` by default), ``spearman``
and ``jaccard`` (overlap of the two top-k sets), both reported, not gated.
"""

from __future__ import annotations

import torch

from ..compress.calibration import generated_text
from ..metrics.agreement import kendall_tau_at_topk, spearman_at_topk, topk_jaccard
from .base import Metric, Suite
from .registry import register_suite

# Offset so the agreement texts never coincide with calibration text of the same seed.
TEXT_SEED_OFFSET = 7_000_003


@register_suite("agreement.rank_correlation")
class RankCorrelation(Suite):
    family = "agreement"
    metrics = (
        Metric("tau", binary=False, min=0.6, description="Kendall tau at the baseline's top-k, mean over positions"),
        Metric("spearman", binary=False, description="Spearman rho at the baseline's top-k"),
        Metric("jaccard", binary=False, description="overlap of the two models' top-k token sets"),
    )
    primary = "tau"
    defaults = {"n": 24, "seed": 0, "k": 10, "chars": 400}
    needs_reference = True

    def cases(self) -> list[dict]:
        seed, chars = self.params["seed"], self.params["chars"]
        return [
            {"id": f"agreement-{i}", "text": generated_text(chars, seed=TEXT_SEED_OFFSET + 1000 * seed + i)[:chars]}
            for i in range(self.params["n"])
        ]

    def run(self, engine, cases, reference=None):
        texts = [c["text"] for c in cases]
        at = [torch.tensor(r["topk_ids"]) for r in reference] if reference is not None else None
        stats = engine.next_token_logits(texts, k=self.params["k"], at=at)
        out = []
        for s in stats:
            entry = {"topk_ids": s["topk_ids"].tolist(), "topk_values": s["topk_values"].tolist()}
            if at is not None:
                entry["at_values"] = s["at_values"].tolist()
            out.append(entry)
        return out

    def score(self, case, output, reference=None):
        ref = reference if reference is not None else output
        base_vals = torch.tensor(ref["topk_values"])
        comp_vals = torch.tensor(output.get("at_values", output["topk_values"]) if reference is not None
                                 else output["topk_values"])
        return {
            "tau": float(kendall_tau_at_topk(base_vals, comp_vals).mean()),
            "spearman": float(spearman_at_topk(base_vals, comp_vals).mean()),
            "jaccard": float(topk_jaccard(torch.tensor(ref["topk_ids"]), torch.tensor(output["topk_ids"])).mean()),
        }
