"""What the number-format methods (FP8, W8A8, NVFP4, MXFP4) share: the sets of linears a runtime
fuses, and the storage cost of what they quantize at run time."""

from __future__ import annotations

from .layers import compressible_layers, weight_matrix

#: linears a runtime executes as one fused matrix (vLLM's QKV and gate-up kernels): formats with
#: a per-tensor scale (NVFP4) give each such set one scale, as llm-compressor does
FUSED_LINEARS = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"), ("w1", "w3"))


def fused_sets(names) -> dict[str, tuple[str, ...]]:
    """``{layer name: the names of the fused set it belongs to}`` (itself alone if none)."""
    names = list(names)
    present = set(names)
    out = {}
    for name in names:
        parent, _, leaf = name.rpartition(".")
        out[name] = (name,)
        for group in FUSED_LINEARS:
            members = tuple(f"{parent}.{g}" for g in group)
            if leaf in group and all(m in present for m in members):
                out[name] = members
    return out


def activation_bits(model, bits: float, scale_bits: float, group: int = 0) -> float:
    """Bits per input element of the compressed layers: ``bits`` each plus ``scale_bits`` per
    token (``group`` 0) or per group of ``group`` elements."""
    widths = [weight_matrix(m).shape[1] for m in compressible_layers(model).values()]
    scales = sum(1 if group <= 0 else w / group for w in widths)
    return bits + scale_bits * scales / sum(widths)
