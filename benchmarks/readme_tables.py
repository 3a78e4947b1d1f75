"""The README's measured tables, measured and written by one command.

Run: ``python -m benchmarks.readme_tables`` (about 90 minutes on the 2-core machine with a
cold cache). Its measurements:

* three pytest sessions on SmolLM2 with the default settings, each in an empty directory
  (so only the built-in suites run) and one shared cache, each keeping its ``report.json``
  as ``benchmarks/results/readme/<name>.json`` (the report records the versions and the
  configuration; the machine is added beside it):

  * ``verdicts``: ``--compress=none,rtn8,rtn2`` over the default suites,
  * ``agreement``: ``--compress=rtn8,rtn4,rtn3,rtn2 --compress-suites=agreement.*``,
  * ``awq4``: ``--compress=awq4`` over the default suites;

* ``calibration``: ``benchmarks.compress_quality`` once per calibration source and size the
  README shows (``benchmarks/results/compress_quality.json``, each run with its versions);
* ``llmcompressor``: ``benchmarks.compress_vs_llmcompressor``, which needs llm-compressor's
  own venv (``benchmarks/README.md``); where it is absent the kept result file is rendered
  as it is and the command says so.

Then every README block between ``<!-- measured:<block> -->`` and
``<!-- /measured:<block> -->`` is rewritten from those files, opening with the date,
versions, commit and machine it was measured on. ``--render`` rewrites the README from the
kept files without measuring; ``--only NAME`` measures one of the above. ``--check`` exits 1
when the README differs from what the kept files render (the tests run it, so a
hand-edited table is caught).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "results"
KEPT = RESULTS / "readme"

SESSIONS = {
    "verdicts": ["--compress=none,rtn8,rtn2"],
    "agreement": ["--compress=rtn8,rtn4,rtn3,rtn2", "--compress-suites=agreement.*"],
    "awq4": ["--compress=awq4"],
    "formats_session": ["--compress=fp8,nvfp4,awq4+kv8", "--compress-suites=needle,tool_use"],
    "kv_needle": ["--compress=kv8,kvi8,kvi4", "--compress-suites=needle", "--compress-cases=144"],
}
BLOCK = re.compile(r"(<!-- measured:(?P<name>[a-z0-9_]+) -->\n)(.*?)(<!-- /measured:(?P=name) -->)", re.DOTALL)


def measure_session(name: str, cache: Path, threads: int) -> Path:
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


#: the runs of ``benchmarks.compress_quality`` the calibration tables show: (source, samples, specs)
CALIBRATION_RUNS = [
    ("stdlib", 32, None),  # every spec of compress_quality.SPECS
    ("stdlib", 128, "gptq4g64,gptq4"),
    ("model", 32, "gptq4g64,gptq4,sparsegpt50"),
    ("mixed", 32, "gptq4g64,gptq4,sparsegpt50"),
]
#: the specs the sources table compares across those runs
SOURCE_ROWS = ("gptq4g64", "gptq4", "sparsegpt50")
CALIBRATION_LABELS = {"stdlib": "stdlib", "model": "model samples", "mixed": "mixed (half each)"}
LLMC_ARGS = ["--repeats", "1", "--threads", "2", "--no-baseline", "--fresh"]


def measure_calibration(cache: Path, threads: int) -> Path:
    """Every calibration run the README shows, into a fresh ``compress_quality.json``."""
    for i, (source, samples, specs) in enumerate(CALIBRATION_RUNS):
        args = ["--calibration", source, "--samples", str(samples), "--threads", str(threads)]
        args += ["--specs", specs] if specs else []
        args += [] if i else ["--fresh"]
        _run_module("benchmarks.compress_quality", args, threads)
    return RESULTS / "compress_quality.json"


def measure_llmcompressor(cache: Path, threads: int) -> Path:
    from benchmarks.common import VENVS

    out = RESULTS / "compress_vs_llmcompressor.json"
    if not (VENVS / "llmc" / "bin" / "python").exists():
        print(f"llmcompressor: no llm-compressor venv at {VENVS / 'llmc'} (benchmarks/README.md says how to "
              f"make one); rendering the kept {out.name} as it is", flush=True)
        return out
    _run_module("benchmarks.compress_vs_llmcompressor", LLMC_ARGS + [f"--cache-dir={cache}"], threads)
    return out


def _run_module(module: str, args: list[str], threads: int) -> None:
    from benchmarks.common import REPO, thread_env

    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=thread_env(threads))
    if proc.returncode:
        sys.exit(f"{module} {' '.join(args)}: exited {proc.returncode}")


def _commit(machine: dict) -> str:
    commit = machine["git_commit"]
    return commit[:7] + (" with uncommitted changes" if commit.endswith("+dirty") else "")


def _measured(what: str, versions: dict, machine: dict, tail: str = "") -> str:
    """The opening line of a block: date, what ran (markdown), versions, commit and machine."""
    return (f"Measured {machine['date_utc'][:10]} by `python -m benchmarks.readme_tables` ({what}): "
            f"pytest-compress {versions['pytest_compress']} at {_commit(machine)}, "
            f"Python {versions['python']}, torch {versions['torch']}, transformers {versions['transformers']}; "
            f"{machine['nproc']} cores ({machine['cpu'] or 'CPU'}){tail}.")


def _environment(doc: dict) -> str:
    c = doc["config"]
    return _measured(f"`{doc['measured_with']['command']}`, exit {doc['measured_with']['exit_code']}",
                     doc["versions"], doc["measured_with"]["machine"],
                     f", model {c['model']}, dtype {c['dtype']}, seed {c['seed']}, decision {c['decision']}")


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


def _drop_rows(doc: dict) -> list[str]:
    """One row per spec x gated metric: scores, drop with its 95% interval, limit, verdict."""
    rows = ["| spec | metric (n) | baseline | compressed | drop | 95% interval | limit | verdict |",
            "|---|---|---|---|---|---|---|---|"]
    for spec, metrics in _metrics(doc).items():
        for name, m in metrics.items():
            if m["verdict"] == "ungated":
                continue
            lo, hi = m["interval"]
            limit = ", ".join(f"{k}={v:g}" for k, v in m["limit"].items())
            rows.append(f"| {spec} | `{name}` ({m['n']}) | {_num(m['baseline'])} | {_num(m['compressed'])} | "
                        f"{m['drop']:+.3f} | [{lo:+.3f}, {hi:+.3f}] | {limit} | {_verdict(m)} |")
    return rows


def _compression_lines(doc: dict) -> list[str]:
    """Each spec's cost as the session printed it (bits counted with scales, what runs quantized)."""
    from pytest_compress.report.terminal import runtime_text

    return [f"- `{c['spec']}`: {c['bits_per_weight']:.2f} bits/weight"
            + (f", runs with {runtime_text(c['runtime_bits'])}" if c.get("runtime_bits") else "")
            for c in doc["compression"]]


def render_drops(doc: dict) -> str:
    return "\n".join([_environment(doc), "", *_counts(doc), "", *_compression_lines(doc), "", *_drop_rows(doc)])


def render_awq4(doc: dict) -> str:
    rows = _drop_rows(doc)
    compression = doc["compression"][0]
    spec = compression["spec"]
    cost = (f"`{spec}`: {compression['bits_per_weight']:.2f} bits/weight, "
            f"{compression['packed_bytes'] / 2**20:.1f} MiB packed; calibration {compression['calibration']}")
    notes = [f"- note: {note}" for note in compression["notes"]]  # what the method did besides the plain algorithm
    return "\n".join([_environment(doc), "", *_counts(doc), "", cost, *([""] + notes if notes else []), "", *rows])


TEXTS = {"stdlib_held_out": "stdlib held-out", "licenses": "licences"}
FAMILY = re.compile(r"^(?:(?:rtn|gptq|awq)(?P<bits>\d+)(?P<group>g\d+)?|(?:magnitude|wanda|sparsegpt)(?P<sparsity>.+))$")


def _family(spec: str) -> str | None:
    """Specs compared with each other: the same bits and group (128 when unsaid), or the same sparsity."""
    m = FAMILY.match(spec)
    if not m:
        return None
    return m["sparsity"] or f"{m['bits']}{m['group'] or 'g128'}"


def _quality_runs(doc: dict) -> dict:
    return {(r["calibration"]["name"], r["calibration"]["samples"]): r for r in doc["runs"]}


def _quality_head(runs: list[dict]) -> list[str]:
    """One opening line per environment (commit, versions, machine, threads) the runs shared,
    naming each run's command and calibration."""
    by_environment: dict = {}
    for r in runs:
        m = r["measured_with"]
        key = (m["machine"]["git_commit"], m["machine"]["cpu"], json.dumps(m["versions"], sort_keys=True), r["threads"])
        by_environment.setdefault(key, []).append(r)
    lines = []
    for same in by_environment.values():
        first = same[0]["measured_with"]
        what = "; ".join(f"`{r['measured_with']['command']}`: {r['calibration']['source']}, "
                         f"{r['calibration']['samples']}x{r['calibration']['seq_len']} tokens" for r in same)
        lines.append(_measured(what, first["versions"], first["machine"],
                               f", SmolLM2-135M-Instruct fp32, {same[0]['threads']} threads"))
    return lines


def render_calibration(doc: dict) -> str:
    run = _quality_runs(doc)[CALIBRATION_RUNS[0][:2]]
    texts = [t for t in TEXTS if t in run["eval"]]
    best = {}
    for r in run["results"]:
        for t in texts:
            key = (_family(r["spec"]), t)
            if key[0] and r["perplexity"][t] < best.get(key, float("inf")):
                best[key] = r["perplexity"][t]
    rows = ["| spec | " + " | ".join(TEXTS[t] for t in texts) + " |", "|---|" + "---|" * len(texts)]
    for r in run["results"]:
        cells = [_ppl(r["perplexity"][t]) for t in texts]
        cells = [f"**{c}**" if best.get((_family(r["spec"]), t)) == r["perplexity"][t] else c
                 for c, t in zip(cells, texts)]
        rows.append(f"| {r['spec']} | " + " | ".join(cells) + " |")
    held_out = ", ".join(f"{TEXTS[t]} {n} x {k} tokens" for t, (n, k) in run["eval"].items() if t in TEXTS)
    return "\n".join([*_quality_head([run]), "", f"Held out: {held_out}.", "", *rows])


def render_calibration_sources(doc: dict) -> str:
    runs = _quality_runs(doc)
    shown = [runs[key[:2]] for key in CALIBRATION_RUNS if key[:2] in runs]
    texts = [t for t in TEXTS if t in shown[0]["eval"]]
    rows = ["| spec | source, samples | " + " | ".join(TEXTS[t] for t in texts) + " |",
            "|---|---|" + "---|" * len(texts)]
    for spec in SOURCE_ROWS:
        for run in shown:
            r = next((x for x in run["results"] if x["spec"] == spec), None)
            if r:
                source = f"{CALIBRATION_LABELS.get(run['calibration']['name'], run['calibration']['name'])}, " \
                         f"{run['calibration']['samples']}"
                rows.append(f"| {spec} | {source} | " + " | ".join(_ppl(r["perplexity"][t]) for t in texts) + " |")
    return "\n".join([*_quality_head(shown), "", *rows])


def _ppl(x: float) -> str:
    """About four significant figures: the digits a perplexity comparison reads."""
    return f"{x:.2f}" if x < 100 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def render_llmcompressor(doc: dict) -> str:
    ours = next(r["versions"] for r in doc["runs"] if r["tool"] == "ours")
    theirs = next(r["versions"] for r in doc["runs"] if r["tool"] == "llmcompressor")
    m = doc["machine_at_end"]
    command = f"`{doc['command']}`" if "command" in doc else "its command was not recorded in the result file"
    head = (f"Measured {m['date_utc'][:10]} ({command}): ours at {_commit(m)}, Python {m['python']}, "
            f"torch {ours['torch']}, transformers {ours['transformers']}; llm-compressor "
            f"{theirs['llmcompressor']} in its own venv, torch {theirs['torch']}, transformers "
            f"{theirs['transformers']}; {m['nproc']} cores ({m['cpu'] or 'CPU'}), {doc['threads_per_tool']} threads "
            f"each; calibration {doc['calibration']['samples']} x {doc['calibration']['seq_len']} tokens of "
            f"{doc['calibration']['source']}, scored on {doc['eval']['samples']} x {doc['eval']['seq_len']} "
            f"tokens of {doc['eval']['source']}.")
    failed = {(f["method"], f["tool"]) for f in doc["failures"]}
    rows = [f"| method | ours | llm-compressor {theirs['llmcompressor']} |", "|---|---|---|"]
    methods = list(dict.fromkeys([r["method"] for r in doc["runs"]] + [f["method"] for f in doc["failures"]]))
    for method in methods:
        cells = []
        for tool in ("ours", "llmcompressor"):
            ppl = [r["perplexity"] for r in doc["runs"] if (r["method"], r["tool"]) == (method, tool)]
            cells.append(_ppl(ppl[0]) if ppl else "refused (its error is kept in the result file)"
                         if (method, tool) in failed else "not run")
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join([head, "", *rows])


def render_formats(doc: dict) -> str:
    ours = next(r["versions"] for r in doc["runs"] if r["tool"] == "ours")
    theirs = next(r["versions"] for r in doc["runs"] if r["tool"] == "llmcompressor")
    m = doc["machine"]
    head = (f"Measured {m['date_utc'][:10]} (`{doc['command']}`): ours at {_commit(m)}, torch {ours['torch']}, "
            f"transformers {ours['transformers']}; llm-compressor {theirs['llmcompressor']} (compressed-tensors "
            f"{theirs['compressed_tensors']}) in its own venv, transformers {theirs['transformers']}; "
            f"{m['nproc']} cores ({m['cpu'] or 'CPU'}); SmolLM2 in fp32, perplexity on {doc['eval']['samples']} x "
            f"{doc['eval']['seq_len']} tokens of {doc['eval']['source']} (uncompressed: "
            f"{_ppl(doc['baseline_perplexity'])}), activations quantized where the scheme says.")
    rows = ["| spec | llm-compressor recipe | weights bit-identical | largest difference | perplexity: ours | "
            "llm-compressor |", "|---|---|---:|---|---:|---:|"]
    for r in doc["rows"]:
        steps = r["max_difference_in_grid_steps"]
        worst = "none" if r["bit_identical"] == 1 else f"{steps:.2f} grid steps ({r['layers_differing']} layers)"
        if r["spec"].endswith("-sq"):  # the tools smooth by different statistics: other matrices, not other rounding
            worst = "other smoothing statistics: not a rounding comparison"
        recipe = f"SmoothQuant + {r['scheme']}" if r["spec"].endswith("-sq") else r["scheme"]
        rows.append(f"| `{r['spec']}` | {recipe} | {r['bit_identical']:.4%} | {worst} | "
                    f"{_ppl(r['perplexity_ours'])} | {_ppl(r['perplexity_llmcompressor'])} |")
    return "\n".join([head, "", *rows])


def measure_gate_stats(cache: Path, threads: int) -> Path:
    _run_module("benchmarks.gate_error_rates", [], threads)
    return RESULTS / "gate_error_rates.json"


def measure_coverage(cache: Path, threads: int) -> Path:
    _run_module("benchmarks.interval_coverage", [], threads)
    return RESULTS / "interval_coverage.json"


def _measured_by(doc: dict, tail: str = "") -> str:
    """The opening line of a simulation's block, from its ``measured_with``."""
    m, v = doc["measured_with"]["machine"], doc["measured_with"]["versions"]
    return (f"Measured {m['date_utc'][:10]} (`{doc['measured_with']['command']}`{tail}): pytest-compress "
            f"{v['pytest_compress']} at {_commit(m)}, Python {v['python']}, numpy {v['numpy']}, scipy {v['scipy']}; "
            f"{m['nproc']} cores ({m['cpu'] or 'CPU'}).")


def _p(x: float) -> str:
    return "0" if x == 0 else "1" if x == 1 else f"{x:.3f}"


def _rate(r: dict, interval: bool = True) -> str:
    lo, hi = r["wilson_95"]
    return _p(r["rate"]) + (f" [{_p(lo)}, {_p(hi)}]" if interval else "")


def render_gate_error_rates(doc: dict) -> str:
    sc, head, budgets = doc["scenarios"], doc["headline"], ("cap20", "default", "large")
    targets = len(sc["drop_twice_limit"]["targets"])

    def row(truth: str, counted: str, cell) -> str:
        return f"| {truth} | {counted} | " + " | ".join(cell(b) for b in budgets) + " |"

    ctd = sc["cases_to_decide"]
    rows = [
        f"| truth (every session: the whole default family) | what is counted | cap {doc['budgets']['cap20']} per "
        f"gate | default caps | cap {doc['budgets']['large']} |", "|---|---|---|---|---|",
        row("`none` control (identical models)", "sessions with any decided fail / all decided pass",
            lambda b: f"{_rate(sc['none'][b]['p_any_fail'], False)} / {_rate(sc['none'][b]['p_all_pass'], False)}"),
        row("equal accuracy: every drop 0, discordance 0.2", "sessions with no decided fail (target >= 0.95)",
            lambda b: _rate(sc["equal"][b]["p_no_decided_fail"])),
        row("", "sessions with every check decided pass", lambda b: _rate(sc["equal"][b]["p_all_pass"], False)),
        row("", "checks inconclusive; cases drawn per gate",
            lambda b: f"{sc['equal'][b]['mean_fraction_inconclusive']:.0%}; {sc['equal'][b]['mean_cases_per_gate']:.0f}"),
        row("one binary or score metric at twice its limit, the rest equal",
            f"that check decided fail, worst / mean of {targets} targets (target >= 0.90)",
            lambda b: f"{_p(head[f'drop_twice_limit.{b}.min_power'])} / {_p(head[f'drop_twice_limit.{b}.mean_power'])}"),
        row("", "any other check decided fail", lambda b: _p(head[f"drop_twice_limit.{b}.max_p_other_decided_fail"])),
        row("every drop exactly at its limit", "sessions with any decided pass (target <= 0.025)",
            lambda b: _rate(sc["at_limit"][b]["p_any_false_pass"])),
        row("", "sessions with any decided fail (<= 0.025)", lambda b: _rate(sc["at_limit"][b]["p_any_fail"])),
        f"| one check, drop 0, discordance 0.2, capped at its stated \"cases to decide\" ({ctd['n_to_decide']}) | "
        f"decided pass (stated: 80%) | | {_rate(ctd['p_decided_pass'])} | |",
    ]
    tail = (f", seed {doc['seed']}, {doc['reps']} sessions per scenario, a family of {doc['family_size']} checks, "
            f"{doc['wall_seconds']:.0f} s")
    return "\n".join([_measured_by(doc, tail), "", *rows])


def render_coverage(doc: dict) -> str:
    rows = ["| n | discordance | 50/50 | 75/25 | all losses |", "|---|---|---|---|---|"]
    cells: dict = {}
    for r in doc["rows"]:
        cells.setdefault((r["n"], r["discordance"]), {})[r["loss_share"]] = r["coverage"]
    for (n, disc), by_share in cells.items():
        rows.append(f"| {n} | {disc:g} | " + " | ".join(f"{by_share[s]:.3f}" for s in (0.5, 0.75, 1.0)) + " |")
    return "\n".join([_measured_by(doc), "", *rows])


def measure_formats_quality(cache: Path, threads: int) -> Path:
    from benchmarks.compress_quality import FORMAT_SPECS

    out = RESULTS / "formats_quality.json"
    _run_module("benchmarks.compress_quality", ["--specs", ",".join(FORMAT_SPECS), "--threads", str(threads),
                                                "--out", "benchmarks/results/formats_quality.json", "--fresh"],
                threads)
    return out


def measure_formats(cache: Path, threads: int) -> Path:
    from benchmarks.common import VENVS

    out = RESULTS / "formats_vs_llmcompressor.json"
    if not (VENVS / "llmc" / "bin" / "python").exists():
        print(f"formats: no llm-compressor venv at {VENVS / 'llmc'}; rendering the kept {out.name} as it is",
              flush=True)
        return out
    _run_module("benchmarks.formats_vs_llmcompressor", [f"--cache-dir={cache}", f"--threads={threads}"], threads)
    return out


@dataclass(frozen=True)
class Block:
    """A README block: the measurement that writes its source file, and how it is rendered."""

    measurement: str
    source: Path
    render: Callable[[dict], str]


MEASUREMENTS = {**{name: (lambda cache, threads, name=name: measure_session(name, cache, threads))
                   for name in SESSIONS},
                "calibration": measure_calibration, "llmcompressor": measure_llmcompressor,
                "formats": measure_formats, "formats_quality": measure_formats_quality,
                "gate_stats": measure_gate_stats, "coverage": measure_coverage}
BLOCKS = {
    "verdicts": Block("verdicts", KEPT / "verdicts.json", render_verdicts),
    "agreement": Block("agreement", KEPT / "agreement.json", render_agreement),
    "awq4": Block("awq4", KEPT / "awq4.json", render_awq4),
    "formats_session": Block("formats_session", KEPT / "formats_session.json", render_verdicts),
    "kv_needle": Block("kv_needle", KEPT / "kv_needle.json", render_drops),
    "calibration": Block("calibration", RESULTS / "compress_quality.json", render_calibration),
    "calibration_sources": Block("calibration", RESULTS / "compress_quality.json", render_calibration_sources),
    "llmcompressor": Block("llmcompressor", RESULTS / "compress_vs_llmcompressor.json", render_llmcompressor),
    "formats": Block("formats", RESULTS / "formats_vs_llmcompressor.json", render_formats),
    "formats_quality": Block("formats_quality", RESULTS / "formats_quality.json", render_calibration),
    "gate_error_rates": Block("gate_stats", RESULTS / "gate_error_rates.json", render_gate_error_rates),
    "coverage": Block("coverage", RESULTS / "interval_coverage.json", render_coverage),
}


def rendered_readme(text: str) -> str:
    """``text`` with every measured block rewritten from its source file."""
    def block(match: re.Match) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            sys.exit(f"README block {name!r} is not one of {', '.join(BLOCKS)}")
        spec = BLOCKS[name]
        if not spec.source.exists():
            sys.exit(f"README block {name!r} has no source {spec.source}: measure it with "
                     f"python -m benchmarks.readme_tables --only {spec.measurement}")
        return f"{match.group(1)}{spec.render(json.loads(spec.source.read_text()))}\n{match.group(4)}"

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render", action="store_true", help="rewrite the README from the kept reports only")
    ap.add_argument("--check", action="store_true", help="exit 1 if the README differs from the kept reports")
    ap.add_argument("--only", choices=sorted(MEASUREMENTS), action="append", help="measure these only")
    ap.add_argument("--cache-dir", default=None, help="cache shared by the sessions (default: a fresh one)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.check:
        text = README.read_text(encoding="utf-8")
        fresh = rendered_readme(text)
        if fresh != text:
            print("README's measured tables differ from the result files they render: run "
                  "python -m benchmarks.readme_tables --render")
            return 1
        return 0
    if not args.render:
        with tempfile.TemporaryDirectory(prefix="readme-cache-") as tmp:
            cache = Path(args.cache_dir) if args.cache_dir else Path(tmp)
            for name in args.only or MEASUREMENTS:
                print(f"measured {name}: {MEASUREMENTS[name](cache, args.threads)}", flush=True)
    # read again: the README may have been edited while the measurements ran
    README.write_text(rendered_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
