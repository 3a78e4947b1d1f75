"""FP8, INT8 W8A8, NVFP4 and MXFP4: our weights and perplexity beside llm-compressor's, on SmolLM2.

    python -m benchmarks.formats_vs_llmcompressor [--specs fp8,w8a8,nvfp4,mxfp4] [--llmc-venv DIR]

Each spec is compressed by both tools in a fresh process (llm-compressor from its own venv,
see shared/PEERS.md) from the same fp32 SmolLM2 directory, with the matching preset scheme
(FP8_DYNAMIC, W8A8, NVFP4A16, MXFP4A16; ``w8a8-sq`` beside llm-compressor's SmoothQuantModifier
before W8A8, calibrated on the same 8 x 256 ids: its smoothing statistics differ from the
paper's, which ours follows, so that row compares perplexity, not bits). Each worker writes every decoder linear's
dequantized weight (llm-compressor's through compressed-tensors' own ``fake_quantize`` of
its stored scales) and measures perplexity on the same held-out standard-library docstrings
with the activations quantized as the scheme says. The orchestrator compares the weights
element by element: the share that is bit-identical, and the largest difference counted in
steps of the format's grid at that element (a step of e4m3 or e2m1 times the scale).
Writes ``benchmarks/results/formats_vs_llmcompressor.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import VENVS, machine, perplexity, run_json_worker, set_threads, write_result

NAME = "formats_vs_llmcompressor"
#: our spec -> llm-compressor's preset scheme of the same format
SCHEMES = {"fp8": "FP8_DYNAMIC", "w8a8": "W8A8", "w8a8-sq": "W8A8", "nvfp4": "NVFP4A16", "mxfp4": "MXFP4A16"}
#: specs whose llm-compressor recipe smooths first (SmoothQuantModifier, strength 0.5, its default
#: norm -> q/k/v and norm -> gate/up mappings); both tools calibrate on the same ids
SMOOTHED = {"w8a8-sq"}


def _decoder_linears(model):
    return {n: m for n, m in model.model.layers.named_modules() if isinstance(m, torch.nn.Linear)}


def _dequantized_llmcompressor(module) -> torch.Tensor:
    from compressed_tensors.quantization.lifecycle.forward import fake_quantize

    args = module.quantization_scheme.weights
    return fake_quantize(module.weight, module.weight_scale, getattr(module, "weight_zero_point", None), args,
                         global_scale=getattr(module, "weight_global_scale", None)).float()


def worker(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", choices=("ours", "llmcompressor"), required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    eval_ids = load_file(str(Path(args.data) / "eval.safetensors"))["ids"]
    calib = load_file(str(Path(args.data) / "calibration.safetensors"))["ids"]
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    start = time.perf_counter()
    if args.tool == "ours":
        from pytest_compress.compress import compress
        from pytest_compress.spec import parse_spec

        compress(model, parse_spec(args.spec), calibration=calib)
        weights = {n: m.weight.detach().float().clone() for n, m in _decoder_linears(model).items()}
    else:
        from datasets import Dataset
        from llmcompressor import oneshot
        from llmcompressor.modifiers.quantization import QuantizationModifier

        rows = calib.tolist()
        dataset = Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]})
        recipe = [QuantizationModifier(targets=["Linear"], scheme=SCHEMES[args.spec], ignore=["lm_head"])]
        if args.spec in SMOOTHED:
            from llmcompressor.modifiers.transform.smoothquant import SmoothQuantModifier

            recipe.insert(0, SmoothQuantModifier(smoothing_strength=0.5))
        oneshot(model=model, dataset=dataset, num_calibration_samples=len(rows), max_seq_length=calib.shape[1],
                recipe=recipe)
        with torch.no_grad():
            weights = {n: _dequantized_llmcompressor(m) for n, m in _decoder_linears(model).items()}
    seconds = time.perf_counter() - start
    save_file(weights, args.out)
    ppl = perplexity(model, eval_ids)
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if args.tool == "llmcompressor":
        import compressed_tensors
        import llmcompressor

        versions.update(llmcompressor=llmcompressor.__version__, compressed_tensors=compressed_tensors.__version__)
    print(json.dumps({"tool": args.tool, "spec": args.spec, "seconds": seconds, "perplexity": ppl,
                      "versions": versions}), flush=True)


def grid_step(reference: torch.Tensor, spec: str, scale_of: torch.Tensor) -> torch.Tensor:
    """The spacing of the format's grid at each reference value (for counting differences in steps)."""
    if spec.startswith("w8a8"):
        return scale_of.expand_as(reference)
    mag = (reference / scale_of).abs()
    if spec == "fp8":  # e4m3: 3 mantissa bits; subnormal spacing 2^-9
        exp = torch.floor(torch.log2(mag.clamp(min=2.0**-6)))
        return (2.0 ** (exp - 3)) * scale_of
    exp = torch.floor(torch.log2(mag.clamp(min=1.0)))  # e2m1: step 0.5 below 2, then 1, then 2
    return (2.0 ** (exp - 1)) * scale_of


def compare(spec: str, ours: dict, theirs: dict) -> dict:
    """Bit-identical share and the largest difference in grid steps, over every decoder linear."""
    same = total = 0
    worst_steps = 0.0
    differing_layers = []
    for name, W in ours.items():
        R = theirs[name]
        equal = W == R
        same += int(equal.sum())
        total += W.numel()
        if not equal.all():
            differing_layers.append(name)
            if spec in ("nvfp4", "mxfp4"):
                group = 16 if spec == "nvfp4" else 32
                G = R.reshape(R.shape[0], -1, group)
                scale = (G.abs().amax(-1, keepdim=True) / 6).clamp(min=1e-30).expand_as(G).reshape(R.shape)
            else:
                top = 448.0 if spec == "fp8" else 127.5  # the int8 grid's top, as compressed-tensors writes it
                scale = (R.abs().amax(1, keepdim=True) / top).clamp(min=1e-30)
            steps = ((W - R).abs() / grid_step(R, spec, scale))[~equal]
            worst_steps = max(worst_steps, float(steps.max()))
    return {"bit_identical": same / total, "elements": total, "max_difference_in_grid_steps": worst_steps,
            "layers_differing": len(differing_layers), "first_layer_differing": differing_layers[:1]}


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.compress_vs_llmcompressor import pythons, smollm2_dir, write_token_ids

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", default=",".join(SCHEMES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--cache-dir", default=os.environ.get("PYTEST_COMPRESS_CACHE", "/work/cache"))
    ap.add_argument("--llmc-venv", default=str(VENVS / "llmc"))
    args = ap.parse_args(argv)
    specs = [s for s in args.specs.split(",") if s]
    unknown = sorted(set(specs) - set(SCHEMES))
    if unknown:
        sys.exit(f"unknown spec(s) {unknown}; choose from {', '.join(SCHEMES)}")
    exe = pythons(Path(args.llmc_venv))
    model_dir = smollm2_dir(Path(args.cache_dir))
    from safetensors.torch import load_file

    rows, runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as data:
        data_info = write_token_ids(model_dir, Path(data), 8, args.seq_len, args.eval_samples)
        base = run_json_worker(exe["ours"], "benchmarks.formats_vs_llmcompressor", [
            "worker", "--tool", "ours", "--spec", "none", "--model", str(model_dir), "--data", data,
            "--out", str(Path(data) / "none.safetensors"), "--threads", str(args.threads)], args.threads)
        print(f"baseline ppl {base['perplexity']:.3f}", flush=True)
        for spec in specs:
            out = {}
            for tool in ("ours", "llmcompressor"):
                path = Path(data) / f"{spec}-{tool}.safetensors"
                result = run_json_worker(exe[tool], "benchmarks.formats_vs_llmcompressor", [
                    "worker", "--tool", tool, "--spec", spec, "--model", str(model_dir), "--data", data,
                    "--out", str(path), "--threads", str(args.threads)], args.threads)
                runs.append(result)
                out[tool] = load_file(str(path))
                print(f"[{time.strftime('%H:%M:%S')}] {spec:6s} {tool:14s} ppl {result['perplexity']:.3f}", flush=True)
            row = {"spec": spec, "scheme": SCHEMES[spec], **compare(spec, out["ours"], out["llmcompressor"]),
                   "perplexity_ours": runs[-2]["perplexity"], "perplexity_llmcompressor": runs[-1]["perplexity"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
            for path in Path(data).glob(f"{spec}-*.safetensors"):
                path.unlink()
    payload = {
        "benchmark": NAME,
        "command": " ".join(["python -m benchmarks.formats_vs_llmcompressor", *(sys.argv[1:] if argv is None else argv)]),
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1 dequantized to fp32 safetensors)",
        **data_info,
        "baseline_perplexity": base["perplexity"],
        "rows": rows,
        "runs": runs,
        "machine": machine(),
    }
    write_result(NAME, payload)
    return payload


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2:])
    else:
        main()
