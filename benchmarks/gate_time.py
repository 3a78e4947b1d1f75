"""Whole-gate wall time: ``pytest --compress=awq4`` with the default suites, cold then warm.

Run: ``python -m benchmarks.gate_time [--spec awq4] [--threads 2]``
(or ``python -m benchmarks.run --what gate``).

Runs pytest in an empty temporary directory (so only the built-in suites are
collected) with a fresh ``--compress-cache-dir``: the first run is cold (GGUF
dequantization, calibration and compression, both evaluations all computed),
the second warm (the same cache: baseline and compressed weights and outputs
cached). Each run's phases come from the plugin's summary line
``time: load 3.1s, compress 80.2s, baseline eval 60.0s, ...``; the rest of the
wall time (interpreter and pytest start-up, collection, report) is reported as
``other``. Writes ``benchmarks/results/gate_time.json``. Issue 8's targets:
cold <= 10 minutes, warm <= 4 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, thread_env, write_result

NAME = "gate_time"
TIME_LINE = re.compile(r"^time: (.*)$", re.MULTILINE)
PHASE = re.compile(r"([a-z][a-z ]*?) ([0-9.]+)s")


def parse_phases(output: str) -> dict[str, float]:
    """``{phase: seconds}`` from the last ``time:`` summary line of a pytest run ({} if none)."""
    found = TIME_LINE.findall(output)
    return {name.strip(): float(sec) for name, sec in PHASE.findall(found[-1])} if found else {}


def run_gate(spec: str, cache: Path, workdir: Path, threads: int, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "pytest", f"--compress={spec}", f"--compress-cache-dir={cache}", "-q",
           "-p", "no:cacheprovider", *extra]
    env = thread_env(threads)
    env.pop("PYTHONPATH", None)  # pytest must find the installed plugin, not the benchmarks package
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    phases = parse_phases(proc.stdout)
    return {
        "command": " ".join(cmd[1:]), "exit_code": proc.returncode, "wall_seconds": wall, "phases": phases,
        "other_seconds": wall - sum(phases.values()),
        "summary_tail": proc.stdout.strip().splitlines()[-12:],
        # the gate's own account: the table, decided / inconclusive counts per spec, each undecided check
        "gate_summary": _summary(proc.stdout),
    }


def _summary(output: str) -> list[str]:
    """The pytest-compress section of a run's output, up to pytest's own closing summary."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if "pytest-compress" in line and line.startswith("=")), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("=")), len(lines))
    return lines[start + 1:end]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="awq4")
    ap.add_argument("--threads", type=int, default=2, help="OMP/MKL threads for the pytest process")
    ap.add_argument("--cache-dir", default=None, help="cache to use (default: a fresh temporary one, so the "
                                                      "first run is truly cold)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        cache = Path(args.cache_dir) if args.cache_dir else Path(tmp) / "cache"
        workdir = Path(tmp) / "project"
        workdir.mkdir()
        runs = {}
        for label in ("cold", "warm"):
            runs[label] = run_gate(args.spec, cache, workdir, args.threads, args.pytest_args)
            r = runs[label]
            print(f"{label}: {r['wall_seconds']:.1f} s (exit {r['exit_code']}) phases {r['phases']}", flush=True)
    payload = {
        "benchmark": NAME, "spec": args.spec, "threads": args.threads, "runs": runs,
        "targets": {"cold_seconds_max": 600, "warm_seconds_max": 240},
        "machine_at_end": machine(),
    }
    path = write_result(NAME, payload)
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
