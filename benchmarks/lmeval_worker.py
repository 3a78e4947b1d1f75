"""Score the benchmark's multiple-choice items with lm-evaluation-harness's HF backend.

Run by ``benchmarks/scoring.py`` in lm-eval's own venv::

    python -m benchmarks.lmeval_worker --items items.jsonl --model HF_DIR --dtype bfloat16 \
        --batch-size 16 --threads 1

The items go in as a custom task (``benchmarks/lmeval_task/pytest_compress_mc.yaml``,
copied beside a temporary JSONL path). Prints one JSON line: the time spent in
``HFLM.loglikelihood`` (the scoring proper) and in the whole ``simple_evaluate``
call, the tokens lm-eval forwarded (contexts repeated per choice, as it sends
them), and each item's picked choice, so the caller can check both tools agree.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import HERE, set_threads

TASK = "pytest_compress_mc"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--batch-size", default="16")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    set_threads(args.threads)
    import lm_eval
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    lm = HFLM(pretrained=args.model, dtype=args.dtype, batch_size=args.batch_size, device="cpu")
    load_s = time.perf_counter() - start
    import torch

    with torch.no_grad():  # warm-up (first-call kernel setup), untimed, as on our side
        lm.model(torch.ones((1, 8), dtype=torch.long))
    scoring = {"seconds": 0.0, "cpu_seconds": 0.0, "requests": 0, "tokens": 0}
    inner = lm.loglikelihood

    def timed_loglikelihood(requests, *a, **k):
        for r in requests:
            context, continuation = r.args
            scoring["tokens"] += len(lm.tok_encode(context + continuation))
        scoring["requests"] += len(requests)
        t0, c0 = time.perf_counter(), time.process_time()
        out = inner(requests, *a, **k)
        scoring["seconds"] += time.perf_counter() - t0
        scoring["cpu_seconds"] += time.process_time() - c0
        return out

    lm.loglikelihood = timed_loglikelihood
    with tempfile.TemporaryDirectory(prefix="lmeval-task-") as tmp:
        template = (HERE / "lmeval_task" / f"{TASK}.yaml").read_text()
        (Path(tmp) / f"{TASK}.yaml").write_text(template.replace("__ITEMS__", str(Path(args.items).resolve())))
        start = time.perf_counter()
        out = simple_evaluate(model=lm, tasks=[TASK], task_manager=TaskManager(include_path=tmp), log_samples=True,
                              num_fewshot=0)
        total_s = time.perf_counter() - start
    samples = sorted(out["samples"][TASK], key=lambda s: s["doc_id"])
    picks = []
    for s in samples:
        lls = [float(r[0]) for r in s["filtered_resps"]]
        picks.append(max(range(len(lls)), key=lls.__getitem__))
    print(json.dumps({
        "tool": "lm-eval", "items": len(samples), "scoring_seconds": scoring["seconds"],
        "scoring_cpu_seconds": scoring["cpu_seconds"],
        "evaluate_seconds": total_s, "load_seconds": load_s, "requests": scoring["requests"],
        "forwarded_tokens": scoring["tokens"], "batch_size": args.batch_size, "dtype": args.dtype,
        "picks": picks, "versions": {"lm_eval": getattr(lm_eval, "__version__", "?")},
    }), flush=True)


if __name__ == "__main__":
    main()
