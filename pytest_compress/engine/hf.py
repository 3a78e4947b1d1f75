"""The Hugging Face transformers engine.

* :meth:`HFEngine.score_choices`: log-likelihoods of multiple-choice
  continuations. Each item's shared prompt runs once; its key/value cache is
  replicated for the item's choices, which then run as one batch.
* :meth:`HFEngine.generate`: batched greedy generation, left-padded, with stop strings.
* :meth:`HFEngine.next_token_logits`: per-position top-k logits (or logits at
  given token ids) without keeping full-vocabulary tensors around.

Batches are length-sorted and sized by a token budget, so padding stays small
and memory stays bounded. Log-probabilities are computed in float32 whatever the
model dtype, and only at the tokens asked for (logit minus logsumexp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .requests import ChoiceRequest, ChoiceScore, GenerationRequest

DEFAULT_TOKEN_BUDGET = 6144  # tokens per forward pass (rows x padded length)


@dataclass
class PromptFormat:
    """How a (system, user) pair becomes prompt text for one tokenizer.

    Uses the tokenizer's chat template when it has one, a plain template otherwise.
    """

    tokenizer: object

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def __call__(self, user: str, system: str | None = None, shots: Sequence[tuple[str, str]] = ()) -> str:
        """Prompt text for ``user``, after worked examples ``shots`` of (user, assistant) turns."""
        if self.has_chat_template:
            messages = [{"role": "system", "content": system}] if system else []
            for question, answer in shots:
                messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": user})
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        bos = self.tokenizer.bos_token or ""
        head = f"{system}\n\n" if system else ""
        examples = "".join(f"{q}\nAnswer: {a}\n\n" for q, a in shots)
        return f"{bos}{head}{examples}{user}\nAnswer: "


def _batches(lengths: Sequence[int], budget: int, max_rows: int = 64) -> list[list[int]]:
    """Indices grouped longest-first so each batch's rows x max length fits ``budget``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and ((len(current) + 1) * longest > budget or len(current) >= max_rows):
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out


class HFEngine:
    """Batched inference over one transformers causal LM.

    Args:
        model: a ``*ForCausalLM`` in eval mode on ``device``.
        tokenizer: its tokenizer (a pad token is required; EOS is used if unset).
        token_budget: upper bound on rows x padded length per forward pass.
        progress: optional ``progress(done, total, label)`` callback per batch.
    """

    def __init__(self, model, tokenizer, *, token_budget: int = DEFAULT_TOKEN_BUDGET,
                 progress: Callable[[int, int, str], None] | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.token_budget = token_budget
        self.progress = progress
        self.format = PromptFormat(tokenizer)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    # -- tokenization -------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _tick(self, done: int, total: int, label: str) -> None:
        if self.progress is not None:
            self.progress(done, total, label)

    # -- multiple choice ----------------------------------------------------
    @torch.no_grad()
    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[ChoiceScore]]:
        """Log-likelihood of each choice of each request, the shared context run once."""
        ctx_ids = [self.encode(r.context) for r in requests]
        cont_ids = [[self.encode(c) for c in r.choices] for r in requests]
        for r, conts in zip(requests, cont_ids):
            if not r.context or any(len(c) == 0 for c in conts):
                raise ValueError(f"empty context or choice in request {r!r}")
        cost = [len(c) + sum(len(x) for x in conts) for c, conts in zip(ctx_ids, cont_ids)]
        results: list[list[ChoiceScore] | None] = [None] * len(requests)
        batches = _batches(cost, self.token_budget)
        for b, idx in enumerate(batches):
            scored = self._score_batch([ctx_ids[i] for i in idx], [cont_ids[i] for i in idx])
            for i, s in zip(idx, scored):
                results[i] = s
            self._tick(b + 1, len(batches), "score")
        return results  # type: ignore[return-value]

    def _score_batch(self, ctxs: list[list[int]], conts: list[list[list[int]]]) -> list[list[ChoiceScore]]:
        dev, pad = self.device, self.tokenizer.pad_token_id
        n, lc = len(ctxs), max(len(c) for c in ctxs)
        ids = torch.full((n, lc), pad, dtype=torch.long)
        mask = torch.zeros((n, lc), dtype=torch.long)
        for i, c in enumerate(ctxs):  # left padding: every context ends at column lc-1
            ids[i, lc - len(c):] = torch.tensor(c)
            mask[i, lc - len(c):] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        out = self.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev), use_cache=True)
        first_logits = out.logits[:, -1, :].float()
        cache = out.past_key_values

        rows = [(i, j) for i in range(n) for j in range(len(conts[i]))]
        lk = max(len(conts[i][j]) for i, j in rows)
        r = len(rows)
        cids = torch.full((r, lk), pad, dtype=torch.long)
        cmask = torch.zeros((r, lk), dtype=torch.long)
        for k, (i, j) in enumerate(rows):
            t = conts[i][j]
            cids[k, : len(t)] = torch.tensor(t)
            cmask[k, : len(t)] = 1
        item_of_row = torch.tensor([i for i, _ in rows])
        cache.reorder_cache(item_of_row.to(dev))
        full_mask = torch.cat([mask[item_of_row], cmask], dim=1)
        cpos = torch.tensor([len(ctxs[i]) for i, _ in rows]).unsqueeze(1) + torch.arange(lk).unsqueeze(0)
        logits = self.model(
            input_ids=cids.to(dev), attention_mask=full_mask.to(dev), position_ids=cpos.to(dev),
            past_key_values=cache, use_cache=True,
        ).logits.float()
        # Token t of a continuation is predicted by the context's last logits (t=0)
        # or by the continuation's own logits at t-1.
        pred = torch.cat([first_logits[item_of_row.to(dev)].unsqueeze(1), logits[:, :-1, :]], dim=1)
        target = cids.to(dev)
        lse = torch.logsumexp(pred, dim=-1)
        tok_lp = pred.gather(-1, target.unsqueeze(-1)).squeeze(-1) - lse
        greedy = pred.argmax(-1) == target
        valid = cmask.to(dev).bool()
        lp = (tok_lp * valid).sum(1).tolist()
        is_greedy = (greedy | ~valid).all(1).tolist()
        scores: list[list[ChoiceScore]] = [[] for _ in range(n)]
        for k, (i, j) in enumerate(rows):
            scores[i].append(ChoiceScore(lp[k], len(conts[i][j]), bool(is_greedy[k])))
        return scores

    @torch.no_grad()
    def score_choices_unshared(self, requests: Sequence[ChoiceRequest]) -> list[list[ChoiceScore]]:
        """Reference path: every (context + choice) as its own full sequence, one at a time."""
        out = []
        dev = self.device
        for r in requests:
            ctx = self.encode(r.context)
            item = []
            for choice in r.choices:
                cont = self.encode(choice)
                ids = torch.tensor([ctx + cont], device=dev)
                logits = self.model(input_ids=ids).logits[0].float()
                pred = logits[len(ctx) - 1 : -1]
                target = ids[0, len(ctx):]
                lp = torch.log_softmax(pred, -1).gather(-1, target.unsqueeze(-1)).sum()
                greedy = bool((pred.argmax(-1) == target).all())
                item.append(ChoiceScore(float(lp), len(cont), greedy))
            out.append(item)
        return out

    # -- generation ---------------------------------------------------------
    @torch.no_grad()
    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Greedy continuations, batched and left-padded, cut at the first stop string."""
        prompts = [self.encode(r.prompt) for r in requests]
        cost = [len(p) + r.max_new_tokens for p, r in zip(prompts, requests)]
        outputs: list[str] = [""] * len(requests)
        batches = _batches(cost, self.token_budget, max_rows=32)
        for b, idx in enumerate(batches):
            texts = self._generate_batch([prompts[i] for i in idx], [requests[i] for i in idx])
            for i, t in zip(idx, texts):
                outputs[i] = t
            self._tick(b + 1, len(batches), "generate")
        return outputs

    def _generate_batch(self, prompts: list[list[int]], reqs: list[GenerationRequest]) -> list[str]:
        dev, tok = self.device, self.tokenizer
        n, lp = len(prompts), max(len(p) for p in prompts)
        ids = torch.full((n, lp), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((n, lp), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, lp - len(p):] = torch.tensor(p)
            mask[i, lp - len(p):] = 1
        max_new = max(r.max_new_tokens for r in reqs)
        eos = tok.eos_token_id
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        generated = [[] for _ in range(n)]
        done = [False] * n
        cache = None
        step_ids = ids
        for step in range(max_new):
            out = self.model(input_ids=step_ids, attention_mask=mask, position_ids=pos,
                             past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            nxt = out.logits[:, -1, :].float().argmax(-1)
            for i in range(n):
                if done[i]:
                    continue
                t = int(nxt[i])
                if t == eos or step >= reqs[i].max_new_tokens:
                    done[i] = True
                    continue
                generated[i].append(t)
                if reqs[i].stop and any(s in tok.decode(generated[i][-8:]) for s in reqs[i].stop):
                    done[i] = True
            if all(done):
                break
            step_ids = nxt.unsqueeze(1)
            mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=dev)], dim=1)
            pos = pos[:, -1:] + 1
        texts = []
        for i, g in enumerate(generated):
            text = tok.decode(g, skip_special_tokens=True)
            cut = min((text.find(s) for s in reqs[i].stop if s in text), default=-1)
            texts.append(text[:cut] if cut >= 0 else text)
        return texts

    # -- next-token statistics for agreement metrics --------------------------
    @torch.no_grad()
    def next_token_logits(self, texts: Sequence[str], *, k: int = 0, at: Sequence[torch.Tensor] | None = None,
                          erank: str | None = None):
        """Per text, float32 tensors over its positions: ``topk_values``/``topk_ids``
        when ``k > 0``; ``at_values`` (logits at the token ids ``at[i]``, ``[positions, j]``)
        when given; always ``logsumexp`` (energy, log-probs), ``input_ids`` and
        ``target_values`` (the logit of each actual next token, for perplexity).
        ``erank="logits"|"hidden"`` adds the effective rank of the text's logit or
        last-hidden-state matrix. Full-vocabulary logits live only inside one batch."""
        from ..metrics.agreement import effective_rank

        encoded = [self.encode(t) for t in texts]
        results: list[dict] = [dict() for _ in texts]
        batches = _batches([len(e) for e in encoded], self.token_budget)
        for b, idx in enumerate(batches):
            n, length = len(idx), max(len(encoded[i]) for i in idx)
            ids = torch.full((n, length), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((n, length), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[r, : len(encoded[i])] = 1
            out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             output_hidden_states=erank == "hidden")
            for r, i in enumerate(idx):
                size = len(encoded[i])
                row = out.logits[r, :size].float()
                targets = torch.tensor(encoded[i][1:], device=row.device)
                entry = {
                    "logsumexp": torch.logsumexp(row, -1).cpu(),
                    "input_ids": torch.tensor(encoded[i]),
                    "target_values": row[:-1].gather(-1, targets[:, None])[:, 0].cpu(),
                }
                if k > 0:
                    vals, top = row.topk(k, dim=-1)
                    entry["topk_values"], entry["topk_ids"] = vals.cpu(), top.cpu()
                if at is not None:
                    entry["at_values"] = row.gather(-1, at[i].to(row.device)).cpu()
                if erank is not None:
                    source = row if erank == "logits" else out.hidden_states[-1][r, :size].float()
                    entry["erank"] = effective_rank(source)
                results[i] = entry
            self._tick(b + 1, len(batches), "logits")
        return results
