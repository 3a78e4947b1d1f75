"""One compression run, by pytest-compress or by llm-compressor, in a fresh process.

Run by ``benchmarks/compress_vs_llmcompressor.py`` (never by hand, though it can be)::

    python -m benchmarks.compress_worker --tool ours|llmcompressor --method gptq4g64 \
        --model HF_DIR --data DIR --threads 1

``--data`` holds ``calibration.safetensors`` and ``eval.safetensors`` (token id
tensors ``ids``, ``[samples, seq_len]``), written by the orchestrator, so both
tools see the same token ids. The worker loads the fp32 model (bf16 for
llm-compressor with ``--forward-dtype bf16``), times the
compression call alone (calibration forwards included, model load excluded),
measures sparsity from the weights, then perplexity on the eval ids with
:func:`benchmarks.common.perplexity` (the same code on both sides), and prints
one JSON line. Imports pytest_compress only for ``--tool ours`` and
llmcompressor only for ``--tool llmcompressor``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

import torch

from benchmarks.common import linear_sparsity, perplexity, set_threads

#: the methods compared, in our spec grammar; llm-compressor recipes are built to match
METHODS = ("gptq4g64", "gptq4g128", "awq4g64", "wanda50", "sparsegpt50", "sparsegpt2:4")


def _load(model_dir: str, dtype=torch.float32):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()


def run_ours(model, method: str, calib: torch.Tensor, forward_dtype: str) -> None:
    from pytest_compress.compress import compress
    from pytest_compress.spec import parse_spec

    dtype = {"fp32": None, "bf16": torch.bfloat16}[forward_dtype]
    compress(model, parse_spec(method), calibration=calib, forward_dtype=dtype)


def _quant_args(method: str):
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    m = re.fullmatch(r"(gptq|awq)(\d)g(\d+)", method)
    bits, group = int(m.group(2)), int(m.group(3))
    # Ours defaults to asymmetric (min/max with a zero point) groups: match that.
    weights = QuantizationArgs(num_bits=bits, type="int", symmetric=False, strategy="group", group_size=group)
    return {"group_0": QuantizationScheme(targets=["Linear"], weights=weights)}


def llmcompressor_recipe(method: str):
    """The llm-compressor modifier that does what our ``method`` spec does."""
    if method.startswith("gptq"):
        from llmcompressor.modifiers.quantization import GPTQModifier

        # actorder=None: our gptq4g64 has no act-order (ours with it is gptq4g64-act).
        return GPTQModifier(config_groups=_quant_args(method), ignore=["lm_head"], block_size=128,
                            dampening_frac=0.01, actorder=None)
    if method.startswith("awq"):
        from llmcompressor.modifiers.awq import AWQModifier

        return AWQModifier(config_groups=_quant_args(method), ignore=["lm_head"])
    m = re.fullmatch(r"(wanda|sparsegpt)(?:(\d+)|(\d+):(\d+))", method)
    if m.group(2):
        sparsity, structure = int(m.group(2)) / 100, "0:0"
    else:
        n, mm = int(m.group(3)), int(m.group(4))
        sparsity, structure = 1 - n / mm, f"{n}:{mm}"
    if m.group(1) == "wanda":
        from llmcompressor.modifiers.pruning import WandaPruningModifier as Pruner
    else:
        from llmcompressor.modifiers.pruning import SparseGPTModifier as Pruner
    # targets as a list: a bare string matches nothing and prunes nothing (see shared/PEERS.md)
    return Pruner(sparsity=sparsity, mask_structure=structure, targets=["Linear"], ignore=["lm_head"])


def run_llmcompressor(model, method: str, calib: torch.Tensor) -> None:
    from datasets import Dataset
    from llmcompressor import oneshot

    if method.startswith("awq"):
        # AWQ's intermediates cache pins memory, which needs an accelerator; on CPU make it a no-op.
        from llmcompressor.pipelines import cache as llmc_cache

        llmc_cache.IntermediatesCache.pin_memory = lambda self, *a, **k: None  # type: ignore[assignment]
    rows = calib.tolist()
    dataset = Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]})
    oneshot(model=model, dataset=dataset, recipe=llmcompressor_recipe(method),
            num_calibration_samples=len(rows), max_seq_length=calib.shape[1], shuffle_calibration_samples=False)


def cpu_seconds() -> float:
    """CPU time (user + system, all threads) this process has used: on a shared machine it
    measures the work itself, where wall time also counts the waits for a core."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@torch.no_grad()
def max_levels_per_group(model, group: int) -> int:
    """Most distinct values in one quantization group of any decoder Linear, read through the
    layer's forward (identity input), so weights a tool fake-quantizes on the fly count as such."""
    worst = 0
    for module in model.model.layers.modules():
        if isinstance(module, torch.nn.Linear):
            eye = torch.eye(module.in_features)
            w = (module(eye) - (module.bias if module.bias is not None else 0)).T  # [out, in]
            for g in range(0, w.shape[1], group):
                ordered = w[:, g : g + group].sort(dim=1).values
                distinct = 1 + (ordered[:, 1:] != ordered[:, :-1]).sum(1)
                worst = max(worst, int(distinct.max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", choices=("ours", "llmcompressor"), required=True)
    ap.add_argument("--method", required=True, help=f"'none' or one of {', '.join(METHODS)}")
    ap.add_argument("--model", required=True, help="Hugging Face model directory (fp32 safetensors)")
    ap.add_argument("--data", required=True, help="folder with calibration.safetensors and eval.safetensors")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--forward-dtype", choices=("fp32", "bf16"), default="fp32",
                    help="dtype of the calibration forwards: ours autocasts the fp32 model (its algorithms "
                         "stay fp32); llm-compressor gets the model loaded in this dtype")
    args = ap.parse_args()
    set_threads(args.threads)
    from safetensors.torch import load_file

    calib = load_file(str(Path(args.data) / "calibration.safetensors"))["ids"]
    eval_ids = load_file(str(Path(args.data) / "eval.safetensors"))["ids"]
    torch.manual_seed(0)
    start = time.perf_counter()
    peer_bf16 = args.tool == "llmcompressor" and args.forward_dtype == "bf16"
    model = _load(args.model, torch.bfloat16 if peer_bf16 else torch.float32)
    load_s = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), cpu_seconds()
    if args.method != "none":
        if args.tool == "ours":
            run_ours(model, args.method, calib, args.forward_dtype)
        else:
            run_llmcompressor(model, args.method, calib)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    model.float()  # both tools' results evaluated the same way
    quant = re.fullmatch(r"(?:gptq|awq)\d+g(\d+)", args.method)
    levels = {"max_levels_per_group": max_levels_per_group(model, int(quant.group(1)))} if quant else {}
    start = time.perf_counter()
    ppl = perplexity(model, eval_ids)
    eval_s = time.perf_counter() - start
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if args.tool == "llmcompressor":
        import llmcompressor

        versions["llmcompressor"] = llmcompressor.__version__
    print(json.dumps({
        "tool": args.tool, "method": args.method, "seconds": seconds, "cpu_seconds": cpu, "perplexity": ppl,
        **linear_sparsity(model), **levels, "load_seconds": load_s, "eval_seconds": eval_s,
        "threads": torch.get_num_threads(), "forward_dtype": args.forward_dtype,
        "versions": versions,
    }), flush=True)


if __name__ == "__main__":
    main()
