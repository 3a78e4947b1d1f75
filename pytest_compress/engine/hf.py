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

import copy
import inspect
import warnings
from typing import Callable, Sequence

import torch

from ..errors import CompressWarning
from .base import HIDDEN_STATES
from .prompt import PromptFormat
from .stats import position_stats
from .requests import ChoiceRequest, ChoiceScore, GenerationRequest

DEFAULT_TOKEN_BUDGET = 6144  # tokens per forward pass (rows x padded length)


def _batches(lengths: Sequence[int], budget: int, max_rows: int = 64,
             order: Sequence[int] | None = None) -> list[list[int]]:
    """Indices grouped longest-first (by ``order`` when given, else by ``lengths``)
    so each batch's rows x its longest length fits ``budget``."""
    key = lengths if order is None else order
    out: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in sorted(range(len(lengths)), key=lambda i: (-key[i], -lengths[i])):
        if current and ((len(current) + 1) * max(longest, lengths[i]) > budget or len(current) >= max_rows):
            out.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, lengths[i])
    if current:
        out.append(current)
    return out


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _pow2_at_least(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _log_softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """Float32 log-probabilities of a few rows of logits (whatever the model dtype)."""
    return torch.log_softmax(logits.float(), dim=-1)


def _token_logprobs(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-prob of ``target`` under each row of ``logits`` ([m, vocab]), and whether it is the argmax."""
    logits = logits.float()
    lp = logits.gather(-1, target[:, None])[:, 0] - torch.logsumexp(logits, -1)
    return lp, logits.argmax(-1) == target


class HFEngine:
    """Batched inference over one transformers causal LM (an :class:`~.base.Engine`).

    Args:
        model: a ``*ForCausalLM`` in eval mode on ``device``.
        tokenizer: its tokenizer (a pad token is required; EOS is used if unset).
        token_budget: upper bound on rows x padded length per forward pass.
        progress: optional ``progress(done, total, label)`` callback per batch.
    """

    name = "hf"
    capabilities = frozenset({HIDDEN_STATES})

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
        self._keeps_logits = "logits_to_keep" in inspect.signature(model.forward).parameters
        self._halved = False  # a batch ran out of memory and was split (said once)

    @property
    def eos_token(self) -> str:
        return self.tokenizer.eos_token or ""

    @property
    def cache_settings(self) -> dict:
        return {"token_budget": self.token_budget, "chat_template": self.format.has_chat_template}

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
        # ordered by context length: the context forward dominates, and its rows are padded to the longest
        return self._run_batches(cost, lambda idx: self._score_batch([ctx_ids[i] for i in idx],
                                                                     [cont_ids[i] for i in idx]),
                                 "score", order=[len(c) for c in ctx_ids])

    def _run_batches(self, cost: Sequence[int], run: Callable[[list[int]], list], label: str,
                     max_rows: int = 64, order: Sequence[int] | None = None) -> list:
        """``run(indices)`` over token-budgeted batches, results back in input order."""
        results: list = [None] * len(cost)
        batches = _batches(cost, self.token_budget, max_rows=max_rows, order=order)
        for b, idx in enumerate(batches):
            for i, r in zip(idx, self._fitting(run, idx)):
                results[i] = r
            self._tick(b + 1, len(batches), label)
        return results

    def _fitting(self, run: Callable[[list[int]], list], idx: list[int]) -> list:
        """``run(idx)``; when the device runs out of memory, the batch is halved and retried
        (down to single rows), so a budget too large for the free memory slows a run
        instead of killing it. Batching follows the configured budget, never the free
        memory of the moment: the same command gives the same batches and numbers."""
        try:
            return run(idx)
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is an out-of-memory error
            if len(idx) == 1 or not _is_out_of_memory(exc):
                raise
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if not self._halved:  # once per engine: the run goes on, slower, with the same numbers
            self._halved = True
            warnings.warn(CompressWarning(
                f"a batch of {len(idx)} rows ran out of memory on {self.device}; batches that do are halved and "
                "retried (same results, slower). A smaller token budget avoids it"), stacklevel=2)
        half = len(idx) // 2
        return self._fitting(run, idx[:half]) + self._fitting(run, idx[half:])

    def _logits_kwargs(self, positions: int | torch.Tensor) -> dict:
        """``logits_to_keep`` where the model takes it: the LM head then runs only
        at the positions whose logits are read (it is ~20% of a small model's forward)."""
        return {"logits_to_keep": positions} if self._keeps_logits else {}

    def _score_batch(self, ctxs: list[list[int]], conts: list[list[list[int]]]) -> list[list[ChoiceScore]]:
        dev, pad = self.device, self.tokenizer.pad_token_id
        n, lc = len(ctxs), max(len(c) for c in ctxs)
        ids = torch.full((n, lc), pad, dtype=torch.long)
        mask = torch.zeros((n, lc), dtype=torch.long)
        for i, c in enumerate(ctxs):  # left padding: every context ends at column lc-1
            ids[i, lc - len(c):] = torch.tensor(c)
            mask[i, lc - len(c):] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        out = self.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev),
                         use_cache=True, **self._logits_kwargs(1))
        first = _log_softmax_rows(out.logits[:, -1, :])  # predicts every choice's first token

        # Choices run in buckets of similar length (powers of two), so a long
        # choice does not pad every short one; single-token choices need no forward.
        rows = [(i, j) for i in range(n) for j in range(len(conts[i]))]
        buckets: dict[int, list[int]] = {}
        for k, (i, j) in enumerate(rows):
            buckets.setdefault(_pow2_at_least(len(conts[i][j])), []).append(k)
        lp, is_greedy = [0.0] * len(rows), [True] * len(rows)
        largest = max(buckets)
        for size, members in sorted(buckets.items()):  # the original cache is extended last
            # each bucket extends its own copy of the contexts' cache; the largest takes the original
            cache = None if size == 1 else out.past_key_values if size == largest else copy.deepcopy(out.past_key_values)
            scores = self._score_continuations(first, cache, mask, ctxs, [rows[k] for k in members], conts)
            for k, (logprob, greedy) in zip(members, scores):
                lp[k], is_greedy[k] = logprob, greedy
        scores: list[list[ChoiceScore]] = [[] for _ in range(n)]
        for k, (i, j) in enumerate(rows):
            scores[i].append(ChoiceScore(lp[k], len(conts[i][j]), is_greedy[k]))
        return scores

    def _score_continuations(self, first: torch.Tensor, cache, ctx_mask: torch.Tensor, ctxs: list[list[int]],
                             rows: list[tuple[int, int]], conts: list[list[list[int]]]) -> list[tuple[float, bool]]:
        """(summed log-prob, greedy?) of each (item, choice) row, after its item's cached context."""
        dev, pad = self.device, self.tokenizer.pad_token_id
        lk = max(len(conts[i][j]) for i, j in rows)
        cids = torch.full((len(rows), lk), pad, dtype=torch.long)
        valid = torch.zeros((len(rows), lk), dtype=torch.bool)
        for k, (i, j) in enumerate(rows):
            t = conts[i][j]
            cids[k, : len(t)] = torch.tensor(t)
            valid[k, : len(t)] = True
        item_of_row = torch.tensor([i for i, _ in rows])
        # Token t of a choice is predicted by the context's last logits (t = 0) or
        # by the choice's own logits at t - 1; the choice's last logits are never read.
        pred_first = first[item_of_row.to(dev)]
        rest_lp = torch.zeros(len(rows), max(lk - 1, 0), device=dev)
        rest_greedy = torch.ones(len(rows), max(lk - 1, 0), dtype=torch.bool, device=dev)
        if lk > 1:
            cache.reorder_cache(item_of_row.to(dev))
            full_mask = torch.cat([ctx_mask[item_of_row], valid.long()], dim=1)
            cpos = torch.tensor([len(ctxs[i]) for i, _ in rows]).unsqueeze(1) + torch.arange(lk).unsqueeze(0)
            logits = self.model(
                input_ids=cids.to(dev), attention_mask=full_mask.to(dev), position_ids=cpos.to(dev),
                past_key_values=cache, use_cache=True, **self._logits_kwargs(torch.arange(lk - 1, device=dev)),
            ).logits[:, : lk - 1]
            later = valid[:, 1:].to(dev)  # only real positions go through the float32 log-softmax
            rest_lp[later], rest_greedy[later] = _token_logprobs(logits[later], cids[:, 1:].to(dev)[later])
        first_target = cids[:, 0].to(dev)
        first_lp = pred_first.gather(-1, first_target[:, None])[:, 0]
        first_greedy = pred_first.argmax(-1) == first_target
        lp = (first_lp + rest_lp.sum(1)).tolist()
        greedy = (first_greedy & rest_greedy.all(1)).tolist()
        return list(zip(lp, greedy))

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
        return self._run_batches(cost, lambda idx: self._generate_batch([prompts[i] for i in idx],
                                                                        [requests[i] for i in idx]),
                                 "generate", max_rows=32)

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
                             past_key_values=cache, use_cache=True, **self._logits_kwargs(1))
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
        """Per text, the :func:`~.stats.position_stats` of its logits (``at[i]``: the token ids
        whose logits text ``i`` keeps). ``erank="logits"|"hidden"`` adds the effective rank of
        the text's logit or last-hidden-state matrix. Full-vocabulary logits live only inside
        one batch."""
        encoded = [self.encode(t) for t in texts]
        return self._run_batches([len(e) for e in encoded],
                                 lambda idx: self._logits_batch([encoded[i] for i in idx],
                                                                None if at is None else [at[i] for i in idx], k, erank),
                                 "logits")

    def _logits_batch(self, encoded: list[list[int]], at: list[torch.Tensor] | None, k: int,
                      erank: str | None) -> list[dict]:
        n, length = len(encoded), max(len(e) for e in encoded)
        ids = torch.full((n, length), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((n, length), dtype=torch.long)
        for r, e in enumerate(encoded):
            ids[r, : len(e)] = torch.tensor(e)
            mask[r, : len(e)] = 1
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                         output_hidden_states=erank == "hidden")
        entries = []
        for r, e in enumerate(encoded):
            logits = out.logits[r, : len(e)]
            rank_of = out.hidden_states[-1][r, : len(e)] if erank == "hidden" else logits if erank else None
            entries.append(position_stats(logits, e, k=k, at=None if at is None else at[r], erank_of=rank_of))
        return entries
