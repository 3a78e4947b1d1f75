"""One command for the benchmarks: ``python -m benchmarks.run --what compress|scoring|gate|gate_stats|all``.

Each benchmark writes ``benchmarks/results/<name>.json`` (medians, ratios,
every run, the machine and its load), so two commits are compared by running
this on each and diffing the files (``python -m benchmarks.run --compare A.json B.json``
prints the headline figures of two result files side by side; ``--table FILE`` prints
the README table of one). Arguments after
``--`` go to the chosen benchmark (e.g. ``-- --repeats 5 --threads 2``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCHMARKS = {
    "compress": "benchmarks.compress_vs_llmcompressor",
    "scoring": "benchmarks.scoring",
    "gate": "benchmarks.gate_time",
    "gate_stats": "benchmarks.gate_error_rates",
}


def headline(path: Path) -> dict:
    """The figures a commit is judged by, from one result file."""
    data = json.loads(path.read_text())
    kind = data.get("benchmark")
    if kind == "compress_vs_llmcompressor":
        return {f"{r['method']}.{k}": r[k] for r in data["summary"] for k in r
                if "_ratio_ours" in k and k.endswith("_over_theirs")}
    if kind == "scoring":
        return {**data["ratios"], **{f"{k}.items_per_cpu_s": v["items_per_cpu_s"] for k, v in data["summary"].items()}}
    if kind == "gate_time":
        return {f"{k}.wall_seconds": v["wall_seconds"] for k, v in data["runs"].items()}
    if kind == "gate_error_rates":
        return dict(data["headline"])  # the measured rates, already flat (written by benchmarks.gate_error_rates)
    raise SystemExit(f"{path}: not a benchmark result file")


def markdown(path: Path) -> str:
    """The README table of one result file (compress or scoring)."""
    data = json.loads(path.read_text())
    if data.get("benchmark") == "compress_vs_llmcompressor":
        out = ["| method | ppl ours | ppl llm-compressor | ppl ratio | CPU s ours | CPU s llmc | CPU ratio "
               "| wall s ours | wall s llmc | runs (ours/llmc) | sparsity ours / llmc |",
               "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in data["summary"]:
            o, t = r.get("ours"), r.get("llmcompressor")
            f = lambda d, k, fmt: format(d[k], fmt) if d and k in d else "-"
            out.append(" | ".join([
                f"| {r['method']}", f(o, "perplexity", ".3f"), f(t, "perplexity", ".3f"),
                format(r["perplexity_ratio_ours_over_theirs"], ".4f") if "perplexity_ratio_ours_over_theirs" in r else "-",
                f(o, "cpu_seconds_median", ".1f"), f(t, "cpu_seconds_median", ".1f"),
                format(r["cpu_time_ratio_ours_over_theirs"], ".2f") if "cpu_time_ratio_ours_over_theirs" in r else "-",
                f(o, "seconds_median", ".0f"), f(t, "seconds_median", ".0f"),
                f"{o['runs'] if o else 0}/{t['runs'] if t else 0}",
                f"{f(o, 'sparsity', '.3f')} / {f(t, 'sparsity', '.3f')} |"]))
        return "\n".join(out)
    if data.get("benchmark") == "scoring":
        out = ["| scorer | runs | CPU s | items / CPU s | item tokens / CPU s | wall s | items / s (wall) |",
               "|---|---|---|---|---|---|---|"]
        for name, v in data["summary"].items():
            out.append(f"| {name} | {v['runs']} | {v['cpu_seconds_median']:.1f} | {v['items_per_cpu_s']:.3f} | "
                       f"{v['item_tokens_per_cpu_s']:.0f} | {v['seconds_median']:.0f} | {v['items_per_s']:.3f} |")
        return "\n".join(out)
    raise SystemExit(f"{path}: no table for this result file")


def compare(a: Path, b: Path) -> None:
    ha, hb = headline(a), headline(b)
    print(f"{'figure':55s} {a.name[:14]:>14s} {b.name[:14]:>14s}")
    for key in sorted(set(ha) | set(hb)):
        fa, fb = ha.get(key), hb.get(key)
        cell = lambda v: f"{v:14.3f}" if isinstance(v, (int, float)) else f"{'-':>14s}"
        print(f"{key:55s} {cell(fa)} {cell(fb)}")


def main() -> None:
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--what", choices=(*BENCHMARKS, "all"), default=None)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"))
    ap.add_argument("--table", type=Path, metavar="RESULT.json", help="print the README table of a result file")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown(args.table))
        return
    if args.compare:
        compare(*args.compare)
        return
    if args.what is None:
        ap.error("give --what compress|scoring|gate|gate_stats|all, or --compare A.json B.json")
    import importlib

    for name in BENCHMARKS if args.what == "all" else [args.what]:
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHMARKS[name]).main(rest)


if __name__ == "__main__":
    main()
