"""Scoring throughput: our engine vs lm-evaluation-harness vs a plain forward pass.

Run: ``python -m benchmarks.scoring [--repeats 3] [--threads 1]``
(or ``python -m benchmarks.run --what scoring``).

The items are the multiple-choice requests the built-in suites really send
(recorded by running the suites against an engine stand-in that answers
nothing): by default ``tool_use`` n=4 (24 items), ``rag`` n=2 (8) and
``passage_retrieval`` n=6 (6); ``--suites`` picks others. Three ways to score them, on the
same model (SmolLM2-135M-Instruct) in the same dtype and thread count:

* ours: ``HFEngine.score_choices`` (shared prompt run once, KV cache reused);
* lm-eval: lm-evaluation-harness's ``hf`` backend, the items fed as a custom
  task (``benchmarks/lmeval_task``), in its own venv (``benchmarks.lmeval_worker``);
* raw forward: the practical ceiling, one plain batched forward over each
  item's context followed by all its choices (the same tokens ours must
  process), length-sorted batches of the engine's token budget.

tokens/s counts, for every tool, the same "item tokens": context once plus
every choice (our tokenization). lm-eval forwards more (the context once per
choice); that count is reported too. The runs alternate between the three, the
order flipping every repeat. Writes ``benchmarks/results/scoring.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import VENVS, machine, median, run_json_worker, set_threads, write_result
from benchmarks.compress_vs_llmcompressor import smollm2_dir
from pytest_compress.suites.replay import suite_choice_requests

NAME = "scoring"
DEFAULT_SUITES = "tool_use:4,rag:2,passage_retrieval:6"  # 38 items: a few minutes of CPU per tool


def load_model(model_dir: Path, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval().to(dtype)
    return model, AutoTokenizer.from_pretrained(model_dir)


def time_ours(engine, requests) -> tuple[dict, list[int]]:
    start, cpu = time.perf_counter(), time.process_time()
    scores = engine.score_choices(requests)
    timing = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}
    picks = [max(range(len(s)), key=lambda j: s[j].logprob) for s in scores]
    return timing, picks


@torch.no_grad()
def time_raw_forward(model, sequences: list[list[int]], pad: int, budget: int) -> dict:
    """A plain forward (full logits, no cache) over ``sequences``, right-padded in length-sorted batches."""
    from pytest_compress.engine.hf import _batches

    batches = _batches([len(s) for s in sequences], budget)
    start, cpu = time.perf_counter(), time.process_time()
    for idx in batches:
        length = max(len(sequences[i]) for i in idx)
        ids = torch.full((len(idx), length), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), length), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(sequences[i])] = torch.tensor(sequences[i])
            mask[r, : len(sequences[i])] = 1
        model(input_ids=ids, attention_mask=mask, use_cache=False)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def main(argv: list[str] | None = None) -> dict:
    from pytest_compress.engine import HFEngine
    from pytest_compress.engine.hf import DEFAULT_TOKEN_BUDGET
    from pytest_compress.models.loading import resolve_dtype

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default=DEFAULT_SUITES, help="comma list of suite[:n] whose choice requests to score")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for all three")
    ap.add_argument("--dtype", default="auto", help="auto (what the gate uses: bf16 on CPUs with AVX512-BF16) | float32 | bfloat16")
    ap.add_argument("--lmeval-batch-size", default="16")
    ap.add_argument("--cache-dir", default="/work/cache")
    ap.add_argument("--lmeval-venv", default=str(VENVS / "lmeval"))
    args = ap.parse_args(argv)
    set_threads(args.threads)
    lmeval_python = Path(args.lmeval_venv) / "bin" / "python"
    if not lmeval_python.exists():
        sys.exit(f"lm-eval venv not found at {args.lmeval_venv}; create it as benchmarks/README.md says")
    dtype = resolve_dtype(args.dtype, "cpu")
    dtype_name = str(dtype).removeprefix("torch.")
    model_dir = smollm2_dir(Path(args.cache_dir))
    model, tok = load_model(model_dir, dtype)
    engine = HFEngine(model, tok)
    requests, per_suite = suite_choice_requests(tok, args.suites)
    ctx = [engine.encode(r.context) for r in requests]
    conts = [[engine.encode(c) for c in r.choices] for r in requests]
    sequences = [c + [t for x in cs for t in x] for c, cs in zip(ctx, conts)]
    item_tokens = sum(len(s) for s in sequences)
    choices = sum(len(r.choices) for r in requests)
    engine.score_choices(requests[:4])  # warm-up (first-call kernel setup), untimed
    meta = {"dtype": dtype_name, "threads": args.threads, "items_per_suite": per_suite, "choices": choices,
            "item_tokens": item_tokens, "token_budget": DEFAULT_TOKEN_BUDGET, "lmeval_batch_size": args.lmeval_batch_size}
    runs = {"ours": [], "raw_forward": [], "lm-eval": []}
    picks = {}
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        items = Path(tmp) / "items.jsonl"
        items.write_text("".join(json.dumps({"context": r.context, "choices": list(r.choices), "gold": 0}) + "\n"
                                 for r in requests))
        for repeat in range(args.repeats):
            order = ["ours", "raw_forward", "lm-eval"]
            for what in order if repeat % 2 == 0 else order[::-1]:
                load = os.getloadavg()[0]
                if what == "ours":
                    run, picks["ours"] = time_ours(engine, requests)
                elif what == "raw_forward":
                    run = time_raw_forward(model, sequences, tok.pad_token_id, DEFAULT_TOKEN_BUDGET)
                else:
                    out = run_json_worker(str(lmeval_python), "benchmarks.lmeval_worker", [
                        "--items", str(items), "--model", str(model_dir), "--dtype", dtype_name,
                        "--batch-size", args.lmeval_batch_size, "--threads", str(args.threads)], args.threads)
                    picks["lm-eval"] = out.pop("picks")
                    run = dict(out, seconds=out["scoring_seconds"], cpu_seconds=out["scoring_cpu_seconds"])
                run.update(repeat=repeat, loadavg_1min_before=load)
                runs[what].append(run)
                print(f"[{time.strftime('%H:%M:%S')}] {what:12s} {run['seconds']:7.2f} s  "
                      f"cpu {run['cpu_seconds']:7.2f} s  {len(requests) / run['seconds']:7.2f} items/s  load {load:.1f}", flush=True)
            save(runs, picks, requests, meta)
    payload = save(runs, picks, requests, meta)
    print(json.dumps({"summary": payload["summary"], "ratios": payload["ratios"],
                      "agreement": payload["picks_agreement_ours_vs_lmeval"]}, indent=2))
    return payload


def save(runs: dict, picks: dict, requests: list, meta: dict) -> dict:
    """Medians and ratios of the runs so far, written to the results file (after every repeat)."""
    items, item_tokens = len(requests), meta["item_tokens"]
    summary = {}
    for what, rs in runs.items():
        if not rs:
            continue
        s, c = median([r["seconds"] for r in rs]), median([r["cpu_seconds"] for r in rs])
        summary[what] = {"runs": len(rs), "seconds_median": s, "seconds_all": [round(r["seconds"], 3) for r in rs],
                         "items_per_s": items / s, "item_tokens_per_s": item_tokens / s,
                         "cpu_seconds_median": c, "cpu_seconds_all": [round(r["cpu_seconds"], 3) for r in rs],
                         "items_per_cpu_s": items / c, "item_tokens_per_cpu_s": item_tokens / c}
    if runs["lm-eval"]:
        lm = runs["lm-eval"][0]
        summary["lm-eval"].update(forwarded_tokens=lm["forwarded_tokens"], requests=lm["requests"],
                                  evaluate_seconds_median=median([r["evaluate_seconds"] for r in runs["lm-eval"]]),
                                  batch_size=lm["batch_size"], versions=lm["versions"])
    ratios = {}
    if len(summary) == 3:
        o, lm, raw = summary["ours"], summary["lm-eval"], summary["raw_forward"]
        ratios = {
            "ours_over_lmeval_items_per_s": o["items_per_s"] / lm["items_per_s"],
            "ours_over_raw_forward_tokens_per_s": o["item_tokens_per_s"] / raw["item_tokens_per_s"],
            "ours_over_lmeval_items_per_cpu_s": o["items_per_cpu_s"] / lm["items_per_cpu_s"],
            "ours_over_raw_forward_tokens_per_cpu_s": o["item_tokens_per_cpu_s"] / raw["item_tokens_per_cpu_s"],
        }
    agree = (sum(a == b for a, b in zip(picks["ours"], picks["lm-eval"])) / items
             if {"ours", "lm-eval"} <= set(picks) else None)
    payload = {
        "benchmark": NAME, "model": "SmolLM2-135M-Instruct", **meta, "items": items, "summary": summary,
        "ratios": ratios, "picks_agreement_ours_vs_lmeval": agree, "machine_at_end": machine(), "runs": runs,
    }
    path = write_result(NAME, payload)
    print(f"wrote {path}", flush=True)
    return payload

if __name__ == "__main__":
    main()
