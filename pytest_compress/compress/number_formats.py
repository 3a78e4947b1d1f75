"""The number formats teams ship: FP8 e4m3, int8, and the 4-bit floats NVFP4 and MXFP4.

Every function returns *fake-quantized* float32 values: the format's representable values
times their scales, so a dense model (or an activation, or a KV entry) holds exactly what
the packed format would decode to. The grids:

* FP8 e4m3 (``float8_e4m3fn``): torch's own dtype does the rounding (nearest, ties to
  even; saturated at +-448 first, as the format has no infinities).
* E2M1 (FP4): the values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives, rounded to the
  nearest, ties to the even code (the one whose last mantissa bit is 0).
* NVFP4: E2M1 codes in groups of 16, each group's scale stored in FP8 e4m3, and one
  float32 scale per tensor (or per group of tensors that a runtime fuses) that maps the
  largest group scale onto FP8's range: ``global = 448 * 6 / amax(tensor)``,
  ``s = fp8(global * amax(group) / 6)``, value = ``e2m1(w * global / s) * s / global``.
* MXFP4 (OCP microscaling): E2M1 codes in groups of 32, each group's scale a power of two
  (E8M0): ``2^(floor(log2(amax)) - 2)``, with ``amax`` first rounded up to the next power
  of two when its mantissa is 1.75 or more (so the largest value is not clipped by more
  than a quarter step; the rounding compressed-tensors and vLLM's reference use).
"""

from __future__ import annotations

import torch

FP8_MAX = float(torch.finfo(torch.float8_e4m3fn).max)  # 448
E2M1_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
E2M1_MAX = E2M1_VALUES[-1]
NVFP4_GROUP = 16
MXFP4_GROUP = 32
#: E2M1's largest exponent: an MX group scale puts the group's top power of two there
_E2M1_EMAX = 2


def round_fp8(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to the nearest FP8 e4m3 value (saturating), as float32."""
    return x.float().clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn).float()


def round_e2m1(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to the nearest E2M1 value (saturating at +-6), ties to the even code."""
    grid = torch.tensor(E2M1_VALUES, dtype=torch.float32, device=x.device)
    mids = (grid[1:] + grid[:-1]) / 2
    mag = x.float().abs().clamp(max=E2M1_MAX)
    code = torch.bucketize(mag, mids)  # a value on a midpoint gets the lower code
    tie = (code < len(mids)) & (mag == mids[code.clamp(max=len(mids) - 1)]) & (code % 2 == 1)
    return torch.copysign(grid[code + tie.long()], x.float())


def fake_quantize_fp8(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Symmetric FP8 with one scale per slice along ``dim`` (``amax / 448``)."""
    x = x.float()
    scale = x.abs().amax(dim, keepdim=True) / FP8_MAX
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return round_fp8(x / scale) * scale


def symmetric_int_scale(x: torch.Tensor, bits: int, dim: int = -1) -> torch.Tensor:
    """``amax / ((2^b - 1) / 2)`` per slice along ``dim`` (kept), 1 where a slice is all zero."""
    scale = x.float().abs().amax(dim, keepdim=True) / ((2**bits - 1) / 2)
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def fake_quantize_int(x: torch.Tensor, bits: int, dim: int = -1, symmetric: bool = True) -> torch.Tensor:
    """Integer grid with one scale (and zero point when asymmetric) per slice along ``dim``.

    Symmetric, as compressed-tensors writes it: ``scale = amax / ((2^b - 1) / 2)`` (127.5 for
    int8), codes in ``[-2^(b-1), 2^(b-1) - 1]``; asymmetric: ``scale = (max - min) / (2^b - 1)``
    over a range that holds 0.
    """
    x = x.float()
    if symmetric:
        scale = symmetric_int_scale(x, bits, dim)
        return torch.clamp(torch.round(x / scale), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * scale
    lo = x.amin(dim, keepdim=True).clamp(max=0)
    hi = x.amax(dim, keepdim=True).clamp(min=0)
    scale = (hi - lo) / (2**bits - 1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    zero = torch.round(-lo / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 2**bits - 1) - zero) * scale


def _groups(W: torch.Tensor, group: int) -> torch.Tensor:
    rows, cols = W.shape
    if cols % group:
        raise ValueError(f"a layer {cols} columns wide does not split into groups of {group}")
    return W.float().reshape(rows, cols // group, group)


def nvfp4_global_scale(amax: torch.Tensor | float) -> torch.Tensor:
    """The per-tensor float32 scale that maps ``amax`` to FP8's largest scale times E2M1's largest value."""
    amax = torch.as_tensor(amax, dtype=torch.float32).clamp(min=torch.finfo(torch.float32).tiny)
    return (FP8_MAX * E2M1_MAX) / amax


def nvfp4_group_scales(G: torch.Tensor, global_scale: torch.Tensor) -> torch.Tensor:
    """The stored (e4m3) scale of each group ``[..., 16]`` under ``global_scale``, computed in
    compressed-tensors' order (``global * (amax / 6)``), so the float rounding is the same."""
    return round_fp8(global_scale * (G.abs().amax(-1, keepdim=True) / E2M1_MAX))


def _nvfp4(G: torch.Tensor, global_scale: torch.Tensor) -> torch.Tensor:
    """Groups ``[..., 16]`` on E2M1 times their scales, ``s / global`` (a zero group stays zero)."""
    s = nvfp4_group_scales(G, global_scale)
    scale = torch.where(s > 0, s, torch.ones_like(s)) / global_scale
    return round_e2m1(G / scale) * scale


def fake_quantize_nvfp4(W: torch.Tensor, global_scale: torch.Tensor | None = None) -> torch.Tensor:
    """NVFP4 weights ``[rows, cols]`` (cols a multiple of 16); ``global_scale`` defaults to this tensor's."""
    G = _groups(W, NVFP4_GROUP)
    if global_scale is None:
        global_scale = nvfp4_global_scale(G.abs().amax())
    return _nvfp4(G, global_scale).reshape(W.shape)


def mx_scale(amax: torch.Tensor) -> torch.Tensor:
    """E8M0 group scales (powers of two) for groups whose largest magnitude is ``amax``."""
    mantissa, exponent = torch.frexp(amax.float())  # amax = mantissa * 2^exponent, mantissa in [0.5, 1)
    top = exponent - 1 + (mantissa >= 0.875).int()  # 1.m * 2^(exponent-1), rounded up when 1.m >= 1.75
    scale = torch.ldexp(torch.ones_like(amax, dtype=torch.float32), (top - _E2M1_EMAX).clamp(-127, 127))
    return torch.where(amax > 0, scale, torch.ones_like(scale))


def fake_quantize_mxfp4(W: torch.Tensor) -> torch.Tensor:
    """MXFP4 weights ``[rows, cols]`` (cols a multiple of 32)."""
    G = _groups(W, MXFP4_GROUP)
    scale = mx_scale(G.abs().amax(-1, keepdim=True))
    return (round_e2m1(G / scale) * scale).reshape(W.shape)


def fake_quantize_fp4_tokens(x: torch.Tensor, fmt: str) -> torch.Tensor:
    """Activations ``[..., hidden]`` in NVFP4 or MXFP4 groups along the last dimension;
    NVFP4's global scale is each token's own (dynamic)."""
    flat = x.float().reshape(-1, x.shape[-1])
    if fmt == "mxfp4":
        return fake_quantize_mxfp4(flat).reshape(x.shape)
    G = _groups(flat, NVFP4_GROUP)
    return _nvfp4(G, nvfp4_global_scale(G.abs().amax((-1, -2), keepdim=True))).reshape(x.shape)
