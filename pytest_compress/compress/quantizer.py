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
from dataclasses import dataclass

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


@dataclass(frozen=True, eq=False)
class WeightGrid:
    """The integer grid one layer's weights were quantized onto: ``w_hat = (q - zero) * scale``
    with codes ``q`` in ``[0, 2^bits - 1]`` and one ``(scale, zero)`` per row and column group.

    What a packed export stores besides the codes; a layer's final weights are a fixed point of
    its grid (:meth:`fake_quantize` returns them unchanged) unless a later step moved them.

    Attributes:
        bits: code width.
        group_size: columns per group as asked (0: one group per row); a ragged last group is
            narrower.
        symmetric: ``zero`` is ``2^(bits - 1)`` everywhere.
        scale: ``[rows, groups]`` float32.
        zero: ``[rows, groups]`` float32, integer-valued.
    """

    bits: int
    group_size: int
    symmetric: bool
    scale: torch.Tensor
    zero: torch.Tensor

    def _per_column(self, t: torch.Tensor, cols: int) -> torch.Tensor:
        widths = torch.tensor([b - a for a, b in group_bounds(cols, self.group_size)], device=t.device)
        return t.repeat_interleave(widths, dim=1)

    def codes(self, W: torch.Tensor) -> torch.Tensor:
        """Integer codes (as float) of ``W`` on this grid."""
        cols = W.shape[1]
        return quantize_codes(W.float(), self._per_column(self.scale, cols), self._per_column(self.zero, cols),
                              self.bits)

    def fake_quantize(self, W: torch.Tensor) -> torch.Tensor:
        cols = W.shape[1]
        return fake_quantize(W.float(), self._per_column(self.scale, cols), self._per_column(self.zero, cols),
                             self.bits)

    def rows(self, start: int, stop: int) -> "WeightGrid":
        """The grid of rows ``start:stop`` (a layer quantized stacked with others)."""
        return WeightGrid(self.bits, self.group_size, self.symmetric, self.scale[start:stop], self.zero[start:stop])


def grids_to_tensors(grids: dict[str, WeightGrid]) -> tuple[dict[str, torch.Tensor], dict]:
    """``grids`` as safetensors-ready tensors (``grid.scale:<layer>``, ``grid.zero:<layer>``) and the
    JSON-ready rest (``{layer: [bits, group_size, symmetric]}``): how the cache keeps them."""
    tensors, meta = {}, {}
    for name, grid in grids.items():
        tensors[f"grid.scale:{name}"], tensors[f"grid.zero:{name}"] = grid.scale.contiguous(), grid.zero.contiguous()
        meta[name] = [grid.bits, grid.group_size, grid.symmetric]
    return tensors, meta


def grids_from_tensors(tensors: dict[str, torch.Tensor], meta: dict) -> dict[str, WeightGrid]:
    """The inverse of :func:`grids_to_tensors`."""
    return {name: WeightGrid(int(bits), int(group), bool(sym), tensors[f"grid.scale:{name}"].float(),
                             tensors[f"grid.zero:{name}"].float())
            for name, (bits, group, sym) in meta.items()}


def rtn_grid(W: torch.Tensor, bits: int, group_size: int, symmetric: bool = False) -> WeightGrid:
    """Each row and group's own min/max grid (round-to-nearest's)."""
    W = W.float()
    bounds = group_bounds(W.shape[1], group_size)
    full = [b for b in bounds if b[1] - b[0] == bounds[0][1] - bounds[0][0]]
    # The equal-width groups go through one batched call; only a ragged tail is separate.
    stop = full[-1][1]
    width = full[0][1] - full[0][0]
    scale, zero = row_qparams(W[:, :stop].reshape(W.shape[0] * len(full), width), bits, symmetric)
    scale, zero = scale.reshape(W.shape[0], len(full)), zero.reshape(W.shape[0], len(full))
    if stop < W.shape[1]:
        tail_scale, tail_zero = row_qparams(W[:, stop:], bits, symmetric)
        scale, zero = torch.cat([scale, tail_scale], dim=1), torch.cat([zero, tail_zero], dim=1)
    return WeightGrid(bits, group_size, symmetric, scale, zero)


def quantize_rtn(W: torch.Tensor, bits: int, group_size: int, symmetric: bool = False) -> torch.Tensor:
    """Round-to-nearest fake quantization of ``W`` with per-row, per-group grids."""
    return rtn_grid(W, bits, group_size, symmetric).fake_quantize(W)


def bits_per_weight(bits: int, group_size: int, cols: int, symmetric: bool) -> float:
    """Storage bits per weight: the code plus an fp16 scale (and a ``bits`` zero) per group."""
    groups = len(group_bounds(cols, group_size))
    overhead = 16 + (0 if symmetric else bits)
    return bits + overhead * groups / cols


def n_groups(cols: int, group_size: int) -> int:
    return 1 if group_size <= 0 else math.ceil(cols / group_size)
