"""Cases evaluated with group-sequential early stopping vs the fixed-N gate, on SmolLM2.

Run: ``python -m benchmarks.sequential_savings [--looks 4] [--suites tool_use,passage_retrieval]``
(or ``python -m benchmarks.run --what sequential``).

For each suite, spec (a clear pass: rtn8; a clear failure: rtn2) and statistical
decision mode, the gate is evaluated twice through the library
(:class:`pytest_compress.runner.GateRunner`, SmolLM2-135M-Instruct, default
limits): all cases at once, and with ``sequential_looks`` looks. Recorded: the
cases each used (the evaluations of each model: the baseline's and the
compressed model's counts are equal), the verdicts (they must agree) and the
saving. Outputs come from the project cache when present, so a rerun is quick;
the counts do not depend on it. Writes ``benchmarks/results/sequential_savings.json``.
Issue 8's target: clear-cut gates use >= 40% fewer evaluations than the fixed-N run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.common import machine, set_threads, write_result

NAME = "sequential_savings"


def main(argv: list[str] | None = None) -> dict:
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default="tool_use,passage_retrieval")
    ap.add_argument("--specs", default="rtn8,rtn2")
    ap.add_argument("--looks", type=int, default=4)
    ap.add_argument("--n", type=int, default=None, help="cases per suite (default: each suite's own n)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", default=os.environ.get("PYTEST_COMPRESS_CACHE", "/work/cache/bench-sequential"))
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cache = Path(args.cache_dir)
    fixed = GateRunner(RunConfig(model="smollm2-135m", cache_dir=cache))
    sequential = GateRunner(RunConfig(model="smollm2-135m", cache_dir=cache, sequential_looks=args.looks))
    rows = []
    for suite in args.suites.split(","):
        for spec in args.specs.split(","):
            for decision in ("lenient", "strict"):
                start = time.perf_counter()
                params = {} if args.n is None else {"n": args.n}
                full = fixed.evaluate(parse_spec(spec), suite, params, decision=decision)
                early = sequential.evaluate(parse_spec(spec), suite, params, decision=decision)
                row = {"suite": suite, "spec": spec, "decision": decision, "cases_fixed": full.n,
                       "cases_sequential": early.n, "saved": 1 - early.n / full.n,
                       "verdict_fixed": "pass" if full.passed else "fail",
                       "verdict_sequential": "pass" if early.passed else "fail",
                       "seconds": time.perf_counter() - start}
                rows.append(row)
                print(f"{suite:18s} {spec:5s} {decision:8s} {row['cases_sequential']:4d}/{row['cases_fixed']:4d} cases "
                      f"({row['saved']:.0%} saved)  {row['verdict_fixed']} / {row['verdict_sequential']}", flush=True)
    payload = {"benchmark": NAME, "model": "SmolLM2-135M-Instruct", "looks": args.looks, "n": args.n, "rows": rows,
               "verdicts_agree": all(r["verdict_fixed"] == r["verdict_sequential"] for r in rows),
               "machine_at_end": machine()}
    print(f"wrote {write_result(NAME, payload)}")
    return payload


if __name__ == "__main__":
    main()
