"""Compression side by side: pytest-compress vs llm-compressor on SmolLM2-135M-Instruct.

Run: ``python -m benchmarks.compress_vs_llmcompressor [--methods gptq4g64,...] [--repeats 3]``
(or ``python -m benchmarks.run --what compress``).

Both tools read the same fp32 Hugging Face directory (the project's cache of
the dequantized GGUF) and the same calibration token ids (``--calibration``: a
built-in source of ``pytest_compress.compress.calibration``, seed 0; default the
gate's own, standard-library docstrings); perplexity is measured by the same
function on the same held-out ids (docstrings of the standard-library modules
calibration never reads, seed 1234; ``--calibration generated`` measures on
generated text, seed 1234, as the earlier tables did). Each run is a fresh worker process (``benchmarks.compress_worker``:
ours in the project venv, llm-compressor in its own venv), with the same thread
count; the two tools alternate, and which goes first flips every repeat, so
drifting load on a shared machine hits both alike. Writes
``benchmarks/results/compress_vs_llmcompressor.json`` (rows of methods not run
this time are kept from the previous file, ``--fresh`` drops them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS, VENVS, machine, median, run_json_worker, set_threads, write_result
from benchmarks.compress_worker import METHODS

NAME = "compress_vs_llmcompressor"
EVAL_SEED = 1234  # the held-out text's seed (calibration uses seed 0), as in compress_quality.py


def smollm2_dir(cache_root: Path) -> Path:
    """The fp32 safetensors directory the project caches for the embedded SmolLM2 (made if missing)."""
    from pytest_compress.models.loading import _dequantized_dir, load_model, resolve_model

    source = resolve_model("smollm2-135m")
    folder = _dequantized_dir(source, cache_root)
    if not (folder / "config.json").is_file():
        load_model(source, cache_root=cache_root)
    return folder


def write_token_ids(model_dir: Path, out: Path, samples: int, seq_len: int, eval_samples: int,
                    source: str = "stdlib") -> dict:
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from pytest_compress.compress.calibration import _make, calibration_ids, stdlib_ids

    tok = AutoTokenizer.from_pretrained(model_dir)
    calib = calibration_ids(tok, samples=samples, seq_len=seq_len, seed=0, source=source)
    if source == "generated":
        held_out = calibration_ids(tok, samples=eval_samples, seq_len=seq_len, seed=EVAL_SEED, source="generated")
    else:
        held_out = _make(stdlib_ids(tok, eval_samples, seq_len, EVAL_SEED, part="held_out"),
                         f"held-out standard-library docstrings(seed={EVAL_SEED})")
    save_file({"ids": calib.ids}, str(out / "calibration.safetensors"))
    save_file({"ids": held_out.ids}, str(out / "eval.safetensors"))
    return {
        "calibration": {"samples": calib.ids.shape[0], "seq_len": seq_len, "source": calib.source,
                        "digest": calib.digest},
        "eval": {"samples": held_out.ids.shape[0], "seq_len": seq_len, "source": held_out.source,
                 "digest": held_out.digest},
    }


def pythons(llmc_venv: Path) -> dict:
    peer = llmc_venv / "bin" / "python"
    if not peer.exists():
        sys.exit(f"llm-compressor venv not found at {llmc_venv}; create it as benchmarks/README.md says "
                 "(or pass --llmc-venv)")
    return {"ours": sys.executable, "llmcompressor": str(peer)}


#: "-bf16": the calibration forwards in bf16. Ours under autocast (what the gate does on a
#: bf16-capable CPU; Hessians, factorisations and updates stay fp32); llm-compressor on the model
#: loaded in bf16 (how its users get bf16 forwards; it upcasts for its own GPTQ math).
TOOLS = ("ours", "ours-bf16", "llmcompressor", "llmcompressor-bf16")
#: (ours, theirs, suffix of the ratio keys) compared in the summary
PAIRS = (("ours", "llmcompressor", ""), ("ours-bf16", "llmcompressor", "_bf16_forwards"),
         ("ours-bf16", "llmcompressor-bf16", "_both_bf16"))


def summarize(runs: list[dict]) -> list[dict]:
    rows = []
    for method in ["none", *METHODS]:
        row = {"method": method}
        for tool in TOOLS:
            mine = [r for r in runs if r["method"] == method and r["tool"] == tool]
            if not mine:
                continue
            row[tool] = {
                "runs": len(mine),
                "seconds_median": median([r["seconds"] for r in mine]),
                "seconds_all": [round(r["seconds"], 2) for r in mine],
                "cpu_seconds_median": median([r["cpu_seconds"] for r in mine]),
                "cpu_seconds_all": [round(r["cpu_seconds"], 2) for r in mine],
                "perplexity": median([r["perplexity"] for r in mine]),
                "sparsity": mine[0]["sparsity"],
                "min_row_sparsity": mine[0]["min_row_sparsity"],
                **({"max_levels_per_group": max(r["max_levels_per_group"] for r in mine)}
                   if "max_levels_per_group" in mine[0] else {}),
            }
        for ours, theirs, suffix in PAIRS:
            if ours not in row or theirs not in row:
                continue
            o, t = row[ours], row[theirs]
            row[f"perplexity_ratio_ours{suffix}_over_theirs"] = o["perplexity"] / t["perplexity"]
            if method != "none":
                row[f"time_ratio_ours{suffix}_over_theirs"] = o["seconds_median"] / t["seconds_median"]
                row[f"cpu_time_ratio_ours{suffix}_over_theirs"] = o["cpu_seconds_median"] / t["cpu_seconds_median"]
        if len(row) > 1:
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for BOTH tools")
    # 8 x 256 calibration tokens keep one run to about a minute of CPU; the gate's default is 128 x 512
    ap.add_argument("--samples", type=int, default=8, help="calibration sequences")
    ap.add_argument("--seq-len", type=int, default=256, help="tokens per calibration and held-out sequence")
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--calibration", default="stdlib", choices=("stdlib", "generated"),
                    help="calibration source (and its held-out text); both tools get the same ids")
    ap.add_argument("--cache-dir", default=os.environ.get("PYTEST_COMPRESS_CACHE", "/work/cache"))
    ap.add_argument("--llmc-venv", default=str(VENVS / "llmc"))
    ap.add_argument("--tools", default="ours,llmcompressor",
                    help=f"comma-separated, from {', '.join(TOOLS)} (-bf16: bf16 calibration forwards)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the uncompressed perplexity check")
    ap.add_argument("--fresh", action="store_true", help="do not keep earlier runs of other methods")
    args = ap.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # the command the result file records
    set_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        sys.exit(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    tools = [t for t in TOOLS if t in args.tools.split(",")]
    if len(tools) != len(set(args.tools.split(","))):
        sys.exit(f"--tools: choose from {', '.join(TOOLS)}")
    exe = pythons(Path(args.llmc_venv))
    model_dir = smollm2_dir(Path(args.cache_dir))
    runs: list[dict] = []
    failures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-compress-") as data:
        data_info = write_token_ids(model_dir, Path(data), args.samples, args.seq_len, args.eval_samples,
                                    args.calibration)
        plan = [] if args.no_baseline else [(0, "none")]
        plan += [(r, m) for r in range(args.repeats) for m in methods]
        for repeat, method in plan:
            # the uncompressed baseline is the same model either way: measured in fp32 only
            order = [t for t in tools if method != "none" or not t.endswith("-bf16")]
            for tool in order if repeat % 2 == 0 else order[::-1]:
                load = os.getloadavg()[0]
                worker_tool, dtype = (tool[:-5], "bf16") if tool.endswith("-bf16") else (tool, "fp32")
                try:
                    result = run_json_worker(exe[worker_tool], "benchmarks.compress_worker", [
                        "--tool", worker_tool, "--method", method, "--model", str(model_dir), "--data", data,
                        "--threads", str(args.threads), "--forward-dtype", dtype], args.threads)
                    result["tool"] = tool
                except RuntimeError as exc:  # one failed run must not lose the others
                    failures.append({"tool": tool, "method": method, "repeat": repeat, "error": str(exc)[-2000:]})
                    print(f"FAILED {method} {tool}: {str(exc)[-500:]}", flush=True)
                    continue
                result.update(repeat=repeat, loadavg_1min_before=load)
                runs.append(result)
                save(args, model_dir, data_info, runs, failures)
                print(f"[{time.strftime('%H:%M:%S')}] {method:13s} {tool:14s} {result['seconds']:8.1f} s  cpu {result['cpu_seconds']:7.1f} s  "
                      f"ppl {result['perplexity']:8.3f}  sparsity {result['sparsity']:.3f}  load {load:.1f}",
                      flush=True)
    payload = save(args, model_dir, data_info, runs, failures)
    print_table(payload["summary"])
    return payload


def save(args, model_dir: Path, data_info: dict, runs: list[dict], failures: list[dict]) -> dict:
    """Write the results file (after every run, so an interrupted benchmark keeps what it measured).
    Earlier runs of a (method, tool) pair not run this time are kept unless ``--fresh``."""
    previous = RESULTS / f"{NAME}.json"
    if previous.exists() and not args.fresh:
        ran = {(r["method"], r["tool"]) for r in runs}
        runs = [r for r in json.loads(previous.read_text())["runs"] if (r["method"], r["tool"]) not in ran] + runs
    payload = {
        "benchmark": NAME,
        "command": "python -m benchmarks.compress_vs_llmcompressor " + " ".join(args.argv),
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1 dequantized to fp32 safetensors)",
        "model_dir": str(model_dir),
        **data_info,
        "threads_per_tool": args.threads,
        "machine_at_end": machine(),
        "notes": [
            "seconds: wall time of the compression call alone (calibration forwards included; model load and "
            "eval excluded); cpu_seconds: the worker process's user+system CPU time over the same call, the "
            "fairer figure while other jobs share the cores",
            "llm-compressor GPTQ with actorder=None to match ours without -act; both asymmetric int4 groups of 64",
            "llm-compressor AWQ on CPU with IntermediatesCache.pin_memory made a no-op (it needs an accelerator)",
            "-bf16 tools: calibration forwards in bf16 (ours: autocast over the fp32 model; llm-compressor: the "
            "model loaded in bf16, cast back to fp32 for the perplexity); the other tools run fp32 forwards",
            "pruning: decoder Linear layers only (lm_head ignored) on both sides; sparsity measured from weights",
        ],
        "summary": summarize(runs),
        "runs": runs,
        "failures": failures,
    }
    write_result(NAME, payload)
    return payload


def print_table(rows: list[dict]) -> None:
    print(f"\n{'method':13s} {'ours ppl':>9s} {'llmc ppl':>9s} {'ratio':>6s} {'ours s':>8s} {'llmc s':>8s} {'ratio':>6s}"
          f" {'ours cpu':>8s} {'llmc cpu':>8s} {'ratio':>6s}")
    for row in rows:
        o, t = row.get("ours", {}), row.get("llmcompressor", {})
        cells = [f"{o.get('perplexity', float('nan')):9.3f}", f"{t.get('perplexity', float('nan')):9.3f}",
                 f"{row.get('perplexity_ratio_ours_over_theirs', float('nan')):6.3f}",
                 f"{o.get('seconds_median', float('nan')):8.1f}", f"{t.get('seconds_median', float('nan')):8.1f}",
                 f"{row.get('time_ratio_ours_over_theirs', float('nan')):6.2f}",
                 f"{o.get('cpu_seconds_median', float('nan')):8.1f}", f"{t.get('cpu_seconds_median', float('nan')):8.1f}",
                 f"{row.get('cpu_time_ratio_ours_over_theirs', float('nan')):6.2f}"]
        print(f"{row['method']:13s} " + " ".join(cells))


if __name__ == "__main__":
    main()
