"""Uniform weight-quantizer math shared by every quantizing method.

All functions work on a 2-D weight ``W`` of shape ``[rows, cols]`` (output x
input features), in float32, and return *fake-quantized* (dequantized) values:
the model keeps dense weights that hold exactly the grid values, so any engine
and architecture can evaluate it.

Grid, following the reference GPTQ quantizer:
  * asymmetric: ``scale = (max - min) / (2^b - 1)``, ``zero = round(-min/scale)``,
    with the range widened to contain 0;
  * symmetric: the range is ``[-max|w|, +max|w|]`` and ``zero = 2^(b-1)``.
  * ``q = clamp(round(w / scale) + zero, 0, 2^b - 1)``, ``w_hat = (q - zero) * scale``.

Groups run along the input dimension. A group size that does not divide the
width leaves a ragged last group (SmolLM2's 576 with groups of 128 ends in a
group of 64) instead of being refused.
"""

from __future__ import annotations

import math

import torch


def max_q(bits: int) -> int:
    return 2**bits - 1


def row_qparams(W: torch.Tensor, bits: int, symmetric: bool, dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row ``(scale, zero)`` of shape ``[rows, 1]`` for the columns of ``W``.

    ``dim=0`` takes ``W`` transposed (``[cols, rows]``, rows contiguous) and returns
    ``[1, rows]``: reducing along the contiguous axis is what makes that layout fast.
    """
    W = W.float()
    # amin and amax: on this torch build min(dim) (which also finds indices) is ~15x and
    # the fused aminmax ~40x slower.
    wmin, wmax = W.amin(dim).clamp(max=0), W.amax(dim).clamp(min=0)
    if symmetric:
        wmax = torch.maximum(wmin.abs(), wmax)
        wmin = -wmax
    empty = (wmin == 0) & (wmax == 0)
    wmin = torch.where(empty, -torch.ones_like(wmin), wmin)
    wmax = torch.where(empty, torch.ones_like(wmax), wmax)
    scale = (wmax - wmin) / max_q(bits)
    if symmetric:
        zero = torch.full_like(scale, (max_q(bits) + 1) / 2)
    else:
        zero = torch.round(-wmin / scale)
    return scale.unsqueeze(dim), zero.unsqueeze(dim)


def quantize_codes(W: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int) -> torch.Tensor:
    """Integer codes in ``[0, 2^bits - 1]`` (as float) for ``W`` on the given grid."""
    return torch.clamp(torch.round(W / scale) + zero, 0, max_q(bits))


def fake_quantize(W: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int) -> torch.Tensor:
    """Round ``W`` onto the grid and map back to floats."""
    return (quantize_codes(W, scale, zero, bits) - zero) * scale


def group_bounds(cols: int, group_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the column groups; ``group_size`` 0 means one group."""
    if group_size <= 0 or group_size >= cols:
        return [(0, cols)]
    return [(s, min(s + group_size, cols)) for s in range(0, cols, group_size)]


def quantize_rtn(W: torch.Tensor, bits: int, group_size: int, symmetric: bool = False) -> torch.Tensor:
    """Round-to-nearest fake quantization of ``W`` with per-row, per-group grids."""
    W = W.float()
    out = torch.empty_like(W)
    bounds = group_bounds(W.shape[1], group_size)
    full = [b for b in bounds if b[1] - b[0] == bounds[0][1] - bounds[0][0]]
    # The equal-width groups go through one batched call; only a ragged tail is separate.
    stop = full[-1][1]
    width = full[0][1] - full[0][0]
    body = W[:, :stop].reshape(W.shape[0] * len(full), width)
    scale, zero = row_qparams(body, bits, symmetric)
    out[:, :stop] = fake_quantize(body, scale, zero, bits).reshape(W.shape[0], stop)
    if stop < W.shape[1]:
        tail = W[:, stop:]
        scale, zero = row_qparams(tail, bits, symmetric)
        out[:, stop:] = fake_quantize(tail, scale, zero, bits)
    return out


def bits_per_weight(bits: int, group_size: int, cols: int, symmetric: bool) -> float:
    """Storage bits per weight: the code plus an fp16 scale (and a ``bits`` zero) per group."""
    groups = len(group_bounds(cols, group_size))
    overhead = 16 + (0 if symmetric else bits)
    return bits + overhead * groups / cols


def n_groups(cols: int, group_size: int) -> int:
    return 1 if group_size <= 0 else math.ceil(cols / group_size)
