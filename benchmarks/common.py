"""Helpers shared by the benchmark scripts and by their peer-side workers.

Imports only the standard library and torch, so the workers that run inside a
peer tool's own virtual environment (llm-compressor, lm-eval-harness) import
it too: both sides then use literally the same perplexity code and the same
machine description.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
#: the peers' virtual environments (outside the repo; see benchmarks/README.md)
VENVS = Path(os.environ.get("PYTEST_COMPRESS_BENCH_VENVS", "/work/venvs"))


def set_threads(threads: int) -> None:
    """One thread count for torch and its OpenMP/MKL pools (call before any work)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)


def thread_env(threads: int) -> dict:
    """Environment for a worker subprocess running with ``threads`` threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TRANSFORMERS_NO_ADVISORY_WARNINGS="1")
    env["PYTHONPATH"] = str(REPO)  # the workers import benchmarks.common, never pytest_compress
    return env


def machine() -> dict:
    """What the figures were measured on, including how busy the machine was."""
    cpu = ""
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                    if l.startswith("model name")), "")
    except OSError:
        pass
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "loadavg_1_5_15": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "git_commit": _git_commit(),
    }


def measured_with(command: str) -> dict:
    """The command, library versions and machine a result file was measured with."""
    import numpy
    import scipy

    from pytest_compress import __version__

    return {"command": command,
            "versions": {"pytest_compress": __version__, "python": platform.python_version(), "torch": torch.__version__,
                         "numpy": numpy.__version__, "scipy": scipy.__version__},
            "machine": machine()}


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
        # the benchmarks' own result files and the README they render do not make a measurement's code dirty
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)benchmarks/results", ":(exclude)README.md"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except OSError:
        return ""


@torch.no_grad()
def perplexity(model, ids: torch.Tensor, batch: int = 4) -> float:
    """exp(mean next-token NLL) over ``ids`` ``[samples, seq_len]`` (each row its own sequence)."""
    nll, count = 0.0, 0
    for i in range(0, ids.shape[0], batch):
        x = ids[i : i + batch]
        logits = model(input_ids=x, use_cache=False).logits[:, :-1].float()
        target = x[:, 1:]
        nll += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                       reduction="sum"))
        count += target.numel()
    return math.exp(nll / count)


def linear_sparsity(model) -> dict:
    """Fraction of exactly-zero weights over the Linear layers inside the decoder blocks
    (``model.model.layers``: the Llama layout; the layers every method here compresses)."""
    zeros = total = 0
    min_row = 1.0
    for module in model.model.layers.modules():
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach()
            z = w == 0
            zeros += int(z.sum())
            total += w.numel()
            min_row = min(min_row, float(z.float().mean(1).min()))
    return {"sparsity": zeros / total, "min_row_sparsity": min_row}


def median(values) -> float:
    return float(statistics.median(values))


def run_json_worker(python: str, module: str, args: list[str], threads: int, timeout: float | None = None) -> dict:
    """Run ``python -m module args`` and parse the JSON object on its last stdout line."""
    proc = subprocess.run([python, "-m", module, *args], cwd=REPO, env=thread_env(threads), capture_output=True,
                          text=True, timeout=timeout)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{module} {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def write_result(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` (the file two commits are compared by)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: two benchmark processes may update the file in turn
    return path
