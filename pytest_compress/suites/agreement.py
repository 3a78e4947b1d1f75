"""``agreement.*``: does the compressed model predict next tokens like the baseline?

ACBench's model-level analysis, on a seeded set of generated texts, position by
position. Each suite runs the baseline first and then the compressed model with
the baseline's raw outputs as ``reference``; the baseline compared with itself
scores the identity value (tau 1, KL 0, gap 0) by construction.

* ``agreement.rank_correlation``: Kendall tau-b (gated, ``min``) and Spearman rho
  of the compressed logits at the baseline's top-``k`` token ids, against the
  baseline's own; tau also at k = 3 and 20; Jaccard overlap of the two top-k sets.
* ``agreement.erank``: effective rank of the text's logit matrix (or last hidden
  states, ``source="hidden"``), through the N x N Gram matrix; each model's own.
* ``agreement.energy``: free energy -logsumexp(logits) per position; ``gap`` is
  the mean |dE| between the models, ``gap_centered`` the same after removing
  each text's median shift (primary), ``energy`` each model's mean.
* ``agreement.kl``: mean token KL(baseline || compressed), coarse-grained to the
  baseline's top-``top`` tokens plus one bucket for the rest of the vocabulary
  (the full-vocabulary distributions of both models are never held at once: the
  cache stores raw outputs). Merging outcomes never increases KL, so this is a
  lower bound of the full KL, equal to it when the tail holds no mass.
* ``agreement.top1_agreement``: share of positions where the two argmax tokens agree.
* ``agreement.perplexity``: each model's perplexity per text (the relative drop is
  the perplexity ratio minus one).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from ..compress.calibration import generated_text
from ..engine.base import HIDDEN_STATES
from ..metrics.agreement import (centered_energy_gap, kendall_tau_at_topk, mean_abs_energy_gap,
                                 spearman_at_topk, topk_jaccard)
from .base import Metric, Suite
from .registry import register_suite
from .params import OneOf

# Offset so the agreement texts never coincide with calibration text of the same seed.
TEXT_SEED_OFFSET = 7_000_003


class LogitAgreement(Suite):
    """One forward pass per text and model; subclasses pick what to keep and how to compare."""

    family = "agreement"
    needs_reference = True
    defaults: ClassVar[dict] = {"n": 24, "seed": 0, "chars": 400}

    def cases(self) -> list[dict]:
        seed, chars = self.params["seed"], self.params["chars"]
        return [
            {"id": f"agreement-{i}", "text": generated_text(chars, seed=TEXT_SEED_OFFSET + 1000 * seed + i)[:chars]}
            for i in range(self.params["n"])
        ]

    def request(self, reference: list[dict] | None) -> dict:
        """Keyword arguments of :meth:`Engine.next_token_logits` for this suite."""
        return {}

    def keep(self, stats: dict, reference: dict | None) -> dict:
        """The JSON-able raw output kept from one text's statistics."""
        raise NotImplementedError

    def run(self, engine, cases, reference=None):
        stats = engine.next_token_logits([c["text"] for c in cases], **self.request(reference))
        refs = reference if reference is not None else [None] * len(cases)
        return [self.keep(s, r) for s, r in zip(stats, refs)]


def _ids_at(reference: list[dict] | None, key: str = "topk_ids") -> list[torch.Tensor] | None:
    return [torch.tensor(r[key]) for r in reference] if reference is not None else None


@register_suite("agreement.rank_correlation")
class RankCorrelation(LogitAgreement):
    metrics = (
        Metric("tau", binary=False, min=0.6, low=-1.0, description="Kendall tau-b at the baseline's top-k, mean over positions"),
        Metric("tau_k3", binary=False, low=-1.0, description="Kendall tau-b at the baseline's top-3"),
        Metric("tau_k20", binary=False, low=-1.0, description="Kendall tau-b at the baseline's top-20"),
        Metric("spearman", binary=False, low=-1.0, description="Spearman rho at the baseline's top-k"),
        Metric("jaccard", binary=False, description="overlap of the two models' top-k token sets"),
    )
    primary = "tau"
    defaults = {**LogitAgreement.defaults, "k": 10}
    version = 2

    @property
    def depth(self) -> int:
        return max(self.params["k"], 20)

    def request(self, reference):
        return {"k": self.depth, "at": _ids_at(reference)}

    def keep(self, stats, reference):
        entry = {"topk_ids": stats["topk_ids"].tolist(), "topk_values": stats["topk_values"].tolist()}
        if reference is not None:
            entry["at_values"] = stats["at_values"].tolist()
        return entry

    def score(self, case, output, reference=None):
        ref = reference if reference is not None else output
        base_vals = torch.tensor(ref["topk_values"])
        comp_vals = torch.tensor(output["at_values"]) if reference is not None else base_vals
        k = self.params["k"]

        def tau(depth: int) -> float:
            return float(kendall_tau_at_topk(base_vals[:, :depth], comp_vals[:, :depth]).mean())

        return {
            "tau": tau(k), "tau_k3": tau(3), "tau_k20": tau(20),
            "spearman": float(spearman_at_topk(base_vals[:, :k], comp_vals[:, :k]).mean()),
            "jaccard": float(topk_jaccard(torch.tensor(ref["topk_ids"])[:, :k],
                                          torch.tensor(output["topk_ids"])[:, :k]).mean()),
        }


@register_suite("agreement.erank")
class EffectiveRank(LogitAgreement):
    metrics = (Metric("erank", binary=False, high=math.inf, description="effective rank of the text's logits (or hidden states)"),)
    primary = "erank"
    defaults = {**LogitAgreement.defaults, "source": "logits"}
    param_rules = {"source": OneOf(("logits", "hidden"))}

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({HIDDEN_STATES}) if self.params["source"] == "hidden" else frozenset()

    def request(self, reference):
        return {"erank": self.params["source"]}

    def keep(self, stats, reference):
        return {"erank": stats["erank"]}

    def score(self, case, output, reference=None):
        return {"erank": output["erank"]}


@register_suite("agreement.energy")
class Energy(LogitAgreement):
    """Free energy -logsumexp(logits) per position, baseline against compressed.

    ``gap`` is the mean |dE|. Quantization can move every energy of a text by
    nearly the same amount (on SmolLM2, rtn4 lowers them all by ~3.6 while rtn3
    barely shifts them), which leaves the next-token distributions untouched
    but dominates ``gap``; ``gap_centered`` removes each text's median shift
    first, so it measures how unevenly the energies moved: the primary metric.
    The shift itself is the difference of the two models' ``energy``.
    """

    metrics = (
        Metric("gap_centered", higher_is_better=False, binary=False, high=math.inf,
               description="mean |energy difference - its median over the text| per position"),
        Metric("gap", higher_is_better=False, binary=False, high=math.inf, description="mean |energy difference| per position"),
        Metric("energy", higher_is_better=False, binary=False, low=-math.inf, high=math.inf, description="mean -logsumexp(logits) per position"),
    )
    primary = "gap_centered"
    version = 2

    def keep(self, stats, reference):
        return {"energy": (-stats["logsumexp"]).tolist()}

    def score(self, case, output, reference=None):
        own = torch.tensor(output["energy"])
        ref = torch.tensor(reference["energy"]) if reference is not None else own
        every = torch.ones_like(own, dtype=torch.bool)
        return {"gap_centered": centered_energy_gap(ref, own, every), "gap": mean_abs_energy_gap(ref, own, every),
                "energy": float(own.mean())}


@register_suite("agreement.kl")
class KLDivergence(LogitAgreement):
    metrics = (Metric("kl", higher_is_better=False, binary=False, high=math.inf,
                      description="mean token KL(baseline || compressed), top tokens + tail bucket"),)
    primary = "kl"
    defaults = {**LogitAgreement.defaults, "top": 64}

    def request(self, reference):
        return {"k": self.params["top"], "at": _ids_at(reference)}

    def keep(self, stats, reference):
        values = stats["at_values"] if reference is not None else stats["topk_values"]
        entry = {"logprobs": (values - stats["logsumexp"][:, None]).tolist()}
        if reference is None:
            entry["topk_ids"] = stats["topk_ids"].tolist()
        return entry

    def score(self, case, output, reference=None):
        if reference is None:
            return {"kl": 0.0}
        return {"kl": float(coarse_kl(torch.tensor(reference["logprobs"]), torch.tensor(output["logprobs"])).mean())}


def coarse_kl(base_logprobs: torch.Tensor, comp_logprobs: torch.Tensor) -> torch.Tensor:
    """KL per position over the given tokens plus one bucket holding the rest of
    the vocabulary: ``[P, K]`` log-probs of the same token ids under each model."""
    p, q = base_logprobs.double(), comp_logprobs.double()
    head = (p.exp() * (p - q)).sum(-1)
    p_tail = (1 - p.exp().sum(-1)).clamp_min(0)
    q_tail = (1 - q.exp().sum(-1)).clamp_min(1e-300)
    tail = torch.where(p_tail > 0, p_tail * (p_tail.clamp_min(1e-300).log() - q_tail.log()), torch.zeros_like(p_tail))
    return (head + tail).clamp_min(0).float()


@register_suite("agreement.top1_agreement")
class TopOneAgreement(LogitAgreement):
    metrics = (Metric("agreement", binary=False, min=0.6,
                      description="share of positions whose argmax token is the baseline's"),)
    primary = "agreement"

    def request(self, reference):
        return {"k": 1}

    def keep(self, stats, reference):
        return {"top1": stats["topk_ids"][:, 0].tolist()}

    def score(self, case, output, reference=None):
        ref = reference if reference is not None else output
        own, base = torch.tensor(output["top1"]), torch.tensor(ref["top1"])
        return {"agreement": float((own == base).double().mean())}


@register_suite("agreement.perplexity")
class Perplexity(LogitAgreement):
    metrics = (Metric("perplexity", higher_is_better=False, binary=False, low=1.0, high=math.inf,
                      description="perplexity of each generated text (relative drop = ratio - 1)"),)
    primary = "perplexity"

    def keep(self, stats, reference):
        return {"nll": (stats["logsumexp"][:-1] - stats["target_values"]).tolist()}

    def score(self, case, output, reference=None):
        nll = output["nll"]
        return {"perplexity": math.exp(sum(nll) / len(nll))}
