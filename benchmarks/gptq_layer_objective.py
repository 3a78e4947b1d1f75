"""GPTQ against RTN on the layer objective tr((W-Q) H (W-Q)^T), SmolLM2, six layers across the depth.

Run: ``python -m benchmarks.gptq_layer_objective [--calibration stdlib]``. ``H`` comes from 8 x 512
calibration tokens (seed 0) fed through the *uncompressed* model; groups of 64 and 128. Prints
one line per layer and group size; the ratio column is what the README's "2.5-10x below RTN's" reads.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.compress_quality import load
from pytest_compress.compress.calibration import SOURCES, calibration_ids
from pytest_compress.compress.gptq import gptq_quantize
from pytest_compress.compress.quantizer import quantize_rtn

LAYERS = ("model.layers.0.self_attn.q_proj", "model.layers.5.mlp.up_proj", "model.layers.5.mlp.down_proj",
          "model.layers.15.self_attn.o_proj", "model.layers.29.mlp.gate_proj", "model.layers.29.mlp.down_proj")
SAMPLES = 8


def objective(W: torch.Tensor, Q: torch.Tensor, H: torch.Tensor) -> float:
    return float(torch.einsum("ij,jk,ik->", W - Q, H, W - Q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calibration", default="stdlib", choices=SOURCES)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, tok = load()
    cal = calibration_ids(tok, model=model, samples=SAMPLES, seq_len=512, seed=0, source=args.calibration)
    hessians: dict[str, torch.Tensor] = {}

    def hook(name):
        def accumulate(module, inputs):
            x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()
            hessians[name] = hessians.get(name, 0) + 2 * x.t() @ x / SAMPLES
        return accumulate

    handles = [model.get_submodule(n).register_forward_pre_hook(hook(n)) for n in LAYERS]
    with torch.no_grad():
        for i in range(SAMPLES):
            model(cal.ids[i:i + 1])
    for h in handles:
        h.remove()
    for name in LAYERS:
        W, H = model.get_submodule(name).weight.detach().float(), hessians[name]
        for group in (64, 128):
            rtn, gptq = objective(W, quantize_rtn(W, 4, group), H), objective(W, gptq_quantize(W, H, 4, group), H)
            print(f"{args.calibration} {name:36s} g{group:<4d} rtn {rtn:12.4g} gptq {gptq:12.4g} "
                  f"ratio {gptq / rtn:.3f}", flush=True)


if __name__ == "__main__":
    main()
