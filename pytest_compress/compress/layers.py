"""Finding the linear layers to compress and reading/writing their weights.

Compression targets the linear projections inside the decoder blocks
(attention and MLP), never embeddings, norms or the output head, as the
reference GPTQ/AWQ/Wanda/SparseGPT code does. GPT-2's ``Conv1D`` stores its
weight transposed (``[in, out]``); :func:`weight_matrix` hides that, so every
method sees ``[out, in]``.
"""

from __future__ import annotations

import re
from collections import Counter

import torch
from torch import nn

from ..errors import CompressError


def _is_conv1d(module: nn.Module) -> bool:
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def is_linear(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or _is_conv1d(module)


def decoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The model's list of decoder blocks (Llama/Qwen/Mistral/Gemma/GPT-2/OPT layouts)."""
    best = None
    for _, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            if any(is_linear(m) for m in module[0].modules()):
                if best is None or len(module) > len(best):
                    best = module
    if best is None:
        raise CompressError(
            f"could not find the decoder blocks of {type(model).__name__}: "
            "expected an nn.ModuleList of blocks containing Linear layers"
        )
    return best


def block_linears(block: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in block.named_modules() if is_linear(m)}


def compressible_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{qualified name: module}`` of every linear layer inside the decoder blocks."""
    blocks = decoder_blocks(model)
    prefix = next(name for name, m in model.named_modules() if m is blocks)
    out: dict[str, nn.Module] = {}
    for i, block in enumerate(blocks):
        for name, module in block_linears(block).items():
            out[f"{prefix}.{i}.{name}"] = module
    return out


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The weight as ``[out, in]`` float32 (a copy)."""
    w = module.weight.detach()
    if _is_conv1d(module):
        w = w.t()
    return w.float().clone()


def set_weight_matrix(module: nn.Module, W: torch.Tensor) -> None:
    """Write an ``[out, in]`` matrix back in the module's own layout and dtype."""
    if _is_conv1d(module):
        W = W.t()
    with torch.no_grad():
        module.weight.copy_(W.to(module.weight.dtype))


def name_patterns(names) -> str:
    """``model.layers.*.self_attn.o_proj (30)``: layer names with their block index folded, counted."""
    counts = Counter(re.sub(r"\.\d+\.", ".*.", name) for name in names)
    return ", ".join(f"{pattern} ({n})" if n > 1 else pattern for pattern, n in counts.items())
