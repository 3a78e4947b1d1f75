"""AWQ (Lin et al. 2023): activation-aware per-input-channel scaling, clipping, group RTN.

Per block, for each input group (linears reading the same input ``X``):

1. *Scale search*: ``s = mean|X|^alpha``, normalised by ``sqrt(max s * min s)``,
   for ``alpha`` in ``{0, 1/20, ..., 19/20}``; keep the ``alpha`` minimising the
   MSE of the group's concatenated outputs ``X W^T`` against
   ``(X/s) Q(W*s)^T`` (``alpha = 0`` is plain RTN, so the search never does
   worse than RTN on the calibration data). The reference measures the output of the
   enclosing submodule (whole attention / MLP); here the group's own linear
   outputs are the objective.
2. *Fold*: ``W <- W * s`` and ``1/s`` into the operation producing ``X`` so
   the unquantized model's function is unchanged:
     * a norm (RMSNorm / LayerNorm, incl. Gemma's ``1 + w`` form): weight (and
       bias) divided by ``s``; the fold is checked numerically on a probe input
       and undone if the norm is not of a supported form;
     * ``o_proj``/``out_proj`` <- ``v_proj`` output rows, when their widths
       match (no grouped-query attention), and ``down_proj`` <- ``up_proj``
       (``act(gate) * up`` is linear in ``up``); OPT's ``fc2`` <- ``fc1`` when
       the activation is ReLU.
   Any other layer has no foldable predecessor and is **not scaled** (listed in
   :attr:`AWQ.unscaled`): GPT-2's ``attn.c_proj`` and ``mlp.c_proj``, and
   ``o_proj`` under grouped-query attention.
3. *Clip search* (reference ``auto_clip``): per output row and group, shrink the
   max ``|w|`` by ``1 - i/20`` for ``i < 10``, keep the one with the lowest
   group-output squared error; q/k projections (and
   GPT-2's fused ``c_attn``) are not clipped, as in the reference.
4. Quantize with per-group RTN grids.

Both searches measure output errors over *every* calibration token through the
inputs' Gram matrix ``X^T X`` (the reference subsamples tokens for clipping).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .hessian import add_gram
from ..errors import CompressWarning
from .layers import name_patterns, set_weight_matrix, weight_matrix
from .quantizer import group_bounds, quantize_rtn, rtn_grid
from .registry import CompressionContext, CompressionMethod, LayerReport, register_method
from .rtn import relative_error
from .sequential import run_sequential

AWQ_GRID = 20
AWQ_MAX_SHRINK = 0.5
AWQ_FOLD_TOL = 1e-5
# (layer, predecessor whose output rows absorb 1/s): the input of the layer is linear in it.
LINEAR_PREDECESSORS = {"o_proj": "v_proj", "out_proj": "v_proj", "down_proj": "up_proj", "fc2": "fc1"}
NO_CLIP = ("q_proj", "k_proj", "c_attn")


class ActivationAccumulator:
    """``sum |x|`` per channel and the Gram matrix ``X^T X``, over every calibration token.

    Output errors are computed from the Gram matrix: ``||X D^T||^2 = sum((D G) * D)``,
    exact over all tokens at a cost independent of their number.
    """

    def __init__(self, cols: int, device="cpu"):
        self.abs_sum = torch.zeros(cols, dtype=torch.float32, device=device)
        self.gram = torch.zeros(cols, cols, dtype=torch.float32, device=device)
        self.count = 0

    def add_batch(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(self.abs_sum.device, torch.float32)
        self.abs_sum += x.abs().sum(dim=0)
        add_gram(self.gram, x, 1.0)
        self.count += x.shape[0]

    @property
    def mean_abs(self) -> torch.Tensor:
        return self.abs_sum / max(self.count, 1)

    def free(self) -> None:
        self.gram = None


def _quantize(W, bits, group_size, symmetric, mask):
    Q = quantize_rtn(W, bits, group_size, symmetric)
    return Q if mask is None else Q.masked_fill(mask, 0.0)


def search_scale(G, W, mean_abs, bits, group_size, symmetric, mask=None) -> torch.Tensor:
    """Best per-input-channel scale ``s`` for ``W`` (``[out, in]``); ``G = X^T X`` of its inputs."""
    best_err, best = float("inf"), torch.ones_like(mean_abs)
    for k in range(AWQ_GRID):
        s = mean_abs.pow(k / AWQ_GRID).clamp(min=1e-4)
        s = s / (s.max() * s.min()).sqrt()
        Q = _quantize(W * s, bits, group_size, symmetric, mask) / s
        D = Q - W
        err = float(((D @ G) * D).sum())
        if err < best_err:
            best_err, best = err, s
    return best


def search_clip(G, W, bits, group_size, symmetric, mask=None) -> torch.Tensor:
    """``W`` clamped per row and group to the max ``|w|`` minimising each group's output error.

    ``G = X^T X`` of the layer's inputs; group ``g``'s error is ``sum((D_g G_gg) * D_g)``.
    """
    bounds = group_bounds(W.shape[1], group_size)
    widths = torch.tensor([b - a for a, b in bounds], device=W.device)
    org_max = torch.stack([W[:, a:b].abs().amax(dim=1) for a, b in bounds], dim=1)
    best_max, best_err = org_max.clone(), torch.full_like(org_max, float("inf"))
    for i in range(int(AWQ_MAX_SHRINK * AWQ_GRID)):
        max_val = org_max * (1 - i / AWQ_GRID)
        col_max = max_val.repeat_interleave(widths, dim=1)
        D = _quantize(W.clamp(-col_max, col_max), bits, group_size, symmetric, mask) - W
        err = torch.stack([((D[:, a:b] @ G[a:b, a:b]) * D[:, a:b]).sum(dim=1) for a, b in bounds], dim=1)
        better = err < best_err
        best_err[better], best_max[better] = err[better], max_val[better]
    col_max = best_max.repeat_interleave(widths, dim=1)
    return W.clamp(-col_max, col_max)


def fold_into_norm(norm: nn.Module, s: torch.Tensor) -> bool:
    """Divide the norm's output by ``s`` through its parameters; False (and unchanged) if impossible."""
    weight = getattr(norm, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.shape != s.shape:
        return False
    bias = getattr(norm, "bias", None)
    probe = torch.randn(4, s.numel(), generator=torch.Generator().manual_seed(0)).to(weight)
    expected = norm(probe).float() / s
    old_w, old_b = weight.detach().clone(), None if bias is None else bias.detach().clone()
    for gemma_form in (False, True):
        w = old_w.float()
        new_w = (1 + w) / s - 1 if gemma_form else w / s
        weight.data.copy_(new_w.to(weight.dtype))
        if bias is not None:
            bias.data.copy_((old_b.float() / s).to(bias.dtype))
        if torch.allclose(norm(probe).float(), expected, rtol=1e-4, atol=AWQ_FOLD_TOL):
            return True
        weight.data.copy_(old_w)
        if bias is not None:
            bias.data.copy_(old_b)
    return False


def _linear_predecessor(block: nn.Module, name: str, width: int):
    parent, _, leaf = name.rpartition(".")
    prev = LINEAR_PREDECESSORS.get(leaf)
    if prev is None:
        return None
    holder = block.get_submodule(parent) if parent else block
    if not hasattr(holder, prev):
        return None
    if leaf == "fc2" and not isinstance(getattr(holder, "activation_fn", None), nn.ReLU):
        return None
    module = getattr(holder, prev)
    return module if weight_matrix(module).shape[0] == width else None


def fold_into_linear(prev: nn.Module, s: torch.Tensor) -> None:
    """Divide ``prev``'s output rows (and bias) by ``s``."""
    set_weight_matrix(prev, weight_matrix(prev) / s.unsqueeze(1))
    if getattr(prev, "bias", None) is not None:
        prev.bias.data.copy_((prev.bias.float() / s).to(prev.bias.dtype))


@register_method("awq")
class AWQ(CompressionMethod):
    records_grid = True
    needs_calibration = True

    def apply(self, model, ctx: CompressionContext) -> list[LayerReport]:
        self.ctx, self.unscaled = ctx, []
        layers = run_sequential(model, ctx, self)
        if self.unscaled:
            warnings.warn(CompressWarning(
                f"{len(self.unscaled)} layers left unscaled (no norm or linear before them to fold the scales "
                f"into; clip-searched and quantized, but not scaled): {name_patterns(self.unscaled)}"))
        return layers

    def new_accumulator(self, group, linears, tokens):
        module = linears[group.names[0]]
        return ActivationAccumulator(weight_matrix(module).shape[1], module.weight.device)

    def _scale_group(self, block, prefix, group, acc, G, row_scales) -> torch.Tensor | None:
        step = self.step
        mods = [block.get_submodule(n) for n in group.names]
        Ws = [weight_matrix(m) for m in mods]
        masks = [self.ctx.zero_masks.get(prefix + n) for n in group.names]
        mask = None if all(m is None for m in masks) else torch.cat(
            [torch.zeros_like(W, dtype=torch.bool) if m is None else m for W, m in zip(Ws, masks)])
        s = search_scale(G, torch.cat(Ws), acc.mean_abs, step.bits, step.group_size, step.symmetric, mask)
        if group.producer is not None and fold_into_norm(group.producer, s):
            pass
        elif len(mods) == 1 and (prev := _linear_predecessor(block, group.names[0], s.numel())) is not None:
            fold_into_linear(prev, s)
            prev_name = next(n for n, m in block.named_modules() if m is prev)
            row_scales[prev_name] = row_scales.get(prev_name, 1.0) / s.unsqueeze(1)
        else:
            self.unscaled.extend(prefix + n for n in group.names)
            return None
        for m, W in zip(mods, Ws):
            set_weight_matrix(m, W * s)
        return s

    def compress_block(self, block, prefix, groups, accs):
        step, inputs, col_scales, row_scales = self.step, {}, {}, {}
        originals = {n: weight_matrix(block.get_submodule(n)) for g in groups for n in g.names}
        for group in groups:
            G = accs[group].gram
            s = self._scale_group(block, prefix, group, accs[group], G, row_scales)
            for name in group.names:
                inputs[name] = G if s is None else G / (s.unsqueeze(1) * s.unsqueeze(0))
                col_scales[name] = 1.0 if s is None else s
        reports = []
        for group in groups:
            for name in group.names:
                module = block.get_submodule(name)
                W, mask = weight_matrix(module), self.ctx.zero_masks.get(prefix + name)
                if not name.endswith(NO_CLIP):
                    W = search_clip(inputs[name], W, step.bits, step.group_size, step.symmetric, mask)
                grid = rtn_grid(W, step.bits, step.group_size, step.symmetric)
                Q = grid.fake_quantize(W) if mask is None else grid.fake_quantize(W).masked_fill(mask, 0.0)
                self.ctx.grids[prefix + name] = grid
                set_weight_matrix(module, Q)
                effective = Q / col_scales[name] / row_scales.get(name, 1.0)
                reports.append(LayerReport(prefix + name, *Q.shape, relative_error(originals[name], effective)))
        return reports
