"""The README's measured gate tables, measured and written by one command.

Run: ``python -m benchmarks.readme_tables`` (about 25 minutes on the 2-core machine with a
cold cache): three pytest sessions on SmolLM2 with the default settings, each in an empty
directory (so only the built-in suites run) and one shared cache,

* ``verdicts``: ``--compress=none,rtn8,rtn2`` over the default suites,
* ``agreement``: ``--compress=rtn8,rtn4,rtn3,rtn2 --compress-suites=agreement.*``,
* ``awq4``: ``--compress=awq4`` over the default suites,

each keeping its ``report.json`` as ``benchmarks/results/readme/<name>.json`` (the report
records the versions and the configuration; the machine is added beside it). Then every
README block between ``<!-- measured:<name> -->`` and ``<!-- /measured:<name> -->`` is
rewritten from those files, opening with the date, versions, commit and machine it was
measured on. ``--render`` rewrites the README from the kept files without measuring;
``--only NAME`` measures one session. ``--check`` exits 1 when the README differs from
what the kept files render (the tests run it, so a hand-edited table is caught).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
KEPT = HERE / "results" / "readme"

SESSIONS = {
    "verdicts": ["--compress=none,rtn8,rtn2"],
    "agreement": ["--compress=rtn8,rtn4,rtn3,rtn2", "--compress-suites=agreement.*"],
    "awq4": ["--compress=awq4"],
}
BLOCK = re.compile(r"(<!-- measured:(?P<name>[a-z0-9_]+) -->\n)(.*?)(<!-- /measured:(?P=name) -->)", re.DOTALL)


def measure(name: str, cache: Path, threads: int) -> Path:
    """Run one session and keep its report (with the machine it ran on); returns the kept file."""
    from benchmarks.common import machine, thread_env

    with tempfile.TemporaryDirectory(prefix=f"readme-{name}-") as tmp:
        report = Path(tmp) / "report"
        cmd = [sys.executable, "-m", "pytest", *SESSIONS[name], f"--compress-cache-dir={cache}",
               f"--compress-report={report}", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        env = thread_env(threads)
        env.pop("PYTHONPATH", None)  # pytest must find the installed plugin, not the benchmarks package
        project = Path(tmp) / "project"
        project.mkdir()
        proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
        if proc.returncode not in (0, 1) or not (report / "report.json").exists():
            sys.exit(f"{name}: pytest exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        document = json.loads((report / "report.json").read_text())
    document["measured_with"] = {"command": "pytest " + " ".join(SESSIONS[name]), "exit_code": proc.returncode,
                                 "machine": machine()}
    KEPT.mkdir(parents=True, exist_ok=True)
    out = KEPT / f"{name}.json"
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return out


def _environment(doc: dict) -> str:
    v, m = doc["versions"], doc["measured_with"]["machine"]
    return (f"Measured {m['date_utc'][:10]} by `python -m benchmarks.readme_tables` "
            f"(`{doc['measured_with']['command']}`, exit {doc['measured_with']['exit_code']}): "
            f"pytest-compress {v['pytest_compress']} at {m['git_commit'][:7]}, Python {v['python']}, "
            f"torch {v['torch']}, transformers {v['transformers']}; {m['nproc']} cores ({m['cpu'] or 'CPU'}), "
            f"model {doc['config']['model']}, dtype {doc['config']['dtype']}, seed {doc['config']['seed']}, "
            f"decision {doc['config']['decision']}.")


def _metrics(doc: dict) -> dict:
    """``{spec: {metric: metric dict}}`` with the suite's n on each."""
    out: dict = {}
    for r in doc["results"]:
        for m in r["metrics"]:
            out.setdefault(r["spec"], {})[m["metric"]] = {**m, "suite_n": r["n"]}
    return out


def _verdict(m: dict) -> str:
    return {"fail": "FAIL", "ungated": "-"}.get(m["verdict"], m["verdict"])


def _num(x) -> str:
    return "-" if x is None else f"{x:.3f}" if abs(x) < 1000 else f"{x:.3g}"


def _counts(doc: dict) -> list[str]:
    lines = []
    for spec, metrics in _metrics(doc).items():
        gated = [m for m in metrics.values() if m["verdict"] != "ungated"]
        counts = {k: sum(m["verdict"] == k for m in gated) for k in ("pass", "fail", "inconclusive")}
        n = sum(r["n"] for r in doc["results"] if r["spec"] == spec)
        lines.append(f"- `{spec}`: {len(gated)} gated metrics: {counts['pass']} decided pass, "
                     f"{counts['fail']} decided fail, {counts['inconclusive']} inconclusive ({n} cases drawn)")
    return lines


def _baseline_note(m: dict) -> str:
    """What limits the reading of the baseline: its chance level, floor or ceiling."""
    notes = []
    for flag in m["flags"]:
        chance = re.search(r"chance ([0-9.]+)", flag)
        if chance:
            notes.append(f"at chance ({chance.group(1)})")
        notes += [where for where in ("at its floor", "at its ceiling") if where in flag]
    return ", ".join(notes)


def render_verdicts(doc: dict) -> str:
    by_spec = _metrics(doc)
    specs = [s for s in by_spec if s != "none"]
    base = by_spec[specs[0]]
    head = "| metric (n) | baseline | baseline note | " + " | ".join(specs) + " |"
    rows = [head, "|---|---|---|" + "---|" * len(specs)]
    primaries = {f"{r['suite']}.{r['primary']}" for r in doc["results"]}
    for name, m in base.items():
        if name not in primaries and all(by_spec[s][name]["verdict"] == "ungated" for s in specs):
            continue  # the gated metrics and each suite's score
        cells = [f"{_num(by_spec[s][name]['compressed'])} {_verdict(by_spec[s][name])}" for s in specs]
        rows.append(f"| `{name}` ({m['suite_n']}) | {_num(m['baseline'])} | {_baseline_note(m)} | "
                    + " | ".join(cells) + " |")
    return "\n".join([_environment(doc), "", *_counts(doc), "", *rows])


def render_agreement(doc: dict) -> str:
    by_spec = _metrics(doc)
    names = list(next(iter(by_spec.values())))
    short = [n.removeprefix("agreement.") for n in names]
    rows = ["| spec | " + " | ".join(short) + " |", "|---|" + "---|" * len(names)]
    first = next(iter(by_spec.values()))
    rows.append("| baseline | " + " | ".join(_num(first[n]["baseline"]) for n in names) + " |")
    for spec, metrics in by_spec.items():
        rows.append(f"| {spec} | " + " | ".join(
            _num(metrics[n]["compressed"]) + ("" if metrics[n]["verdict"] in ("ungated", "pass")
                                              else f" {_verdict(metrics[n])}") for n in names) + " |")
    return "\n".join([_environment(doc), "", *rows])


def render_awq4(doc: dict) -> str:
    (spec, metrics), = _metrics(doc).items()
    rows = ["| metric (n) | baseline | awq4 | drop | 95% interval | limit | verdict |", "|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        if m["verdict"] == "ungated":
            continue
        lo, hi = m["interval"]
        limit = ", ".join(f"{k}={v:g}" for k, v in m["limit"].items())
        rows.append(f"| `{name}` ({m['n']}) | {_num(m['baseline'])} | {_num(m['compressed'])} | "
                    f"{m['drop']:+.3f} | [{lo:+.3f}, {hi:+.3f}] | {limit} | {_verdict(m)} |")
    compression = doc["compression"][0]
    cost = (f"`{spec}`: {compression['bits_per_weight']:.2f} bits/weight, "
            f"{compression['packed_bytes'] / 2**20:.1f} MiB packed; calibration {compression['calibration']}")
    notes = [f"- note: {note}" for note in compression["notes"]]  # what the method did besides the plain algorithm
    return "\n".join([_environment(doc), "", *_counts(doc), "", cost, *([""] + notes if notes else []), "", *rows])


RENDER = {"verdicts": render_verdicts, "agreement": render_agreement, "awq4": render_awq4}


def rendered_readme(text: str) -> str:
    """``text`` with every measured block rewritten from its kept report."""
    def block(match: re.Match) -> str:
        name = match.group("name")
        kept = KEPT / f"{name}.json"
        if name not in RENDER or not kept.exists():
            sys.exit(f"README block {name!r} has no kept report {kept}: measure it with "
                     f"python -m benchmarks.readme_tables --only {name}")
        doc = json.loads(kept.read_text())
        return f"{match.group(1)}{RENDER[name](doc)}\n{match.group(4)}"

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render", action="store_true", help="rewrite the README from the kept reports only")
    ap.add_argument("--check", action="store_true", help="exit 1 if the README differs from the kept reports")
    ap.add_argument("--only", choices=sorted(SESSIONS), action="append", help="measure these sessions only")
    ap.add_argument("--cache-dir", default=None, help="cache shared by the sessions (default: a fresh one)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if args.check:
        fresh = rendered_readme(text)
        if fresh != text:
            print("README's measured tables differ from benchmarks/results/readme/: run "
                  "python -m benchmarks.readme_tables --render")
            return 1
        return 0
    if not args.render:
        with tempfile.TemporaryDirectory(prefix="readme-cache-") as tmp:
            cache = Path(args.cache_dir) if args.cache_dir else Path(tmp)
            for name in args.only or SESSIONS:
                print(f"measured {name}: {measure(name, cache, args.threads)}", flush=True)
    README.write_text(rendered_readme(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
