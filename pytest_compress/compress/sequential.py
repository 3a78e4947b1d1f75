"""The layer-by-layer calibration loop shared by GPTQ, AWQ, Wanda and SparseGPT.

A calibrated method implements :class:`SequentialMethod`: it creates one
accumulator per *input group* (the linear layers of a block that read the same
input tensor, e.g. ``q/k/v_proj``), the loop feeds every accumulator the
group's inputs, and then the method compresses the block from its
accumulators. :func:`run_sequential` holds one block's activations at a time,
so memory stays at ``samples x seq_len x hidden`` twice over, never the model's
whole activation stack.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from ..errors import CompressError
from .layers import block_linears, decoder_blocks, is_linear
from .registry import CompressionContext, LayerReport

# Calibration sequences run through the model/blocks per forward call.
SEQUENTIAL_BATCH_SIZE = 8


class _StopForward(Exception):
    """Private sentinel: raised by a pre-hook once the inputs it waits for are captured."""


@dataclass(frozen=True, eq=False)
class InputGroup:
    """Linear layers of one block that read the very same input tensor.

    Attributes:
        names: block-relative names of the linears, in block order.
        producer: the block submodule whose output *is* that input (e.g. the
            RMSNorm before ``q/k/v_proj``), or None when it comes from an
            un-hooked operation (attention matmul, activation product).
        producer_name: block-relative name of ``producer`` or None.
    """

    names: tuple[str, ...]
    producer: nn.Module | None = None
    producer_name: str | None = None


class Accumulator(Protocol):
    """Create empty, :meth:`add_batch` per forward call, compress from it, :meth:`free`."""

    def add_batch(self, x: torch.Tensor) -> None: ...

    def free(self) -> None: ...


class SequentialMethod(Protocol):
    def new_accumulator(self, group: InputGroup, linears: dict[str, nn.Module], tokens: int) -> Accumulator:
        """An empty accumulator for ``group``; ``tokens`` calibration tokens will flow in."""

    def compress_block(
        self, block: nn.Module, prefix: str, groups: list[InputGroup], accs: dict[InputGroup, Accumulator]
    ) -> list[LayerReport]:
        """Compress the block's linears in place; ``prefix + name`` is a layer's model-level name."""


@contextmanager
def hooked(pre: dict | None = None, post: dict | None = None, with_kwargs: bool = False):
    """Register ``{module: hook}`` forward pre-hooks / hooks; always removes them on exit."""
    handles = []
    try:
        for module, fn in (pre or {}).items():
            handles.append(module.register_forward_pre_hook(fn, with_kwargs=with_kwargs))
        for module, fn in (post or {}).items():
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for handle in handles:
            handle.remove()


def calibration_tensor(calibration) -> torch.Tensor:
    """The ``[samples, seq_len]`` LongTensor of a tensor or a ``Calibration`` (``.ids``)."""
    ids = getattr(calibration, "ids", calibration)
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2:
        raise CompressError("calibration must be a [samples, seq_len] LongTensor of token ids")
    return ids.long()


def _block_output(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def forward_precision(model: nn.Module, dtype):
    """Context-manager factories ``(fast, precise)``: autocast to ``dtype`` for the
    calibration forwards (a no-op for None or the weights' own dtype), and autocast
    off so statistics (Hessians, Gram matrices) accumulate in float32."""
    param = next(model.parameters())
    device = param.device.type
    enabled = dtype is not None and dtype != param.dtype

    def fast():
        return torch.autocast(device, dtype=dtype if enabled else torch.get_autocast_dtype(device), enabled=enabled)

    def precise():
        return torch.autocast(device, enabled=False)

    return fast, precise


def capture_block0_inputs(model: nn.Module, ids: torch.Tensor, batch_size: int = SEQUENTIAL_BATCH_SIZE):
    """``[(hidden, args, kwargs), ...]`` per batch: what the model passes to decoder block 0."""
    blocks = decoder_blocks(model)
    device = next(model.parameters()).device
    captured = []

    def grab(module, args, kwargs):
        kwargs = dict(kwargs)
        hidden = args[0] if args else kwargs.pop("hidden_states")
        captured.append((hidden, tuple(args[1:]), kwargs))
        raise _StopForward

    with hooked(pre={blocks[0]: grab}, with_kwargs=True):
        for start in range(0, ids.shape[0], batch_size):
            try:
                model(input_ids=ids[start : start + batch_size].to(device), use_cache=False)
            except _StopForward:
                pass
    if len(captured) != -(-ids.shape[0] // batch_size):
        raise CompressError(f"decoder block 0 of {type(model).__name__} was not called by forward()")
    return captured


@dataclass(frozen=True, eq=False)
class BlockLayout:
    """What one probe forward of a block tells: its input groups (in block order) and
    the block-relative name of the linear it calls last, or None when the probe did not
    call every linear (data-dependent routing): then no forward may stop early."""

    groups: tuple[InputGroup, ...]
    last_linear: str | None


def probe_block(block: nn.Module, hidden, args, kwargs) -> BlockLayout:
    """Run ``block`` once with hooks: its linears grouped by identical input tensor, each
    group with the submodule producing that input, and the linear it calls last."""
    linears = block_linears(block)
    seen_in: dict[str, torch.Tensor] = {}  # in call order
    outputs: list[tuple[str, nn.Module, torch.Tensor]] = []

    def pre(name):
        def fn(module, inputs):
            seen_in.setdefault(name, inputs[0])
        return fn

    def post(name):
        def fn(module, inputs, out):
            if isinstance(out, torch.Tensor):
                outputs.append((name, module, out))
        return fn

    others = {m: post(n) for n, m in block.named_modules() if n and not is_linear(m)}
    with hooked(pre={m: pre(n) for n, m in linears.items()}, post=others):
        block(hidden, *args, **kwargs)
    if not seen_in:
        raise CompressError(f"{type(block).__name__}.forward() called none of its linear layers, so a "
                            "calibrated method has no inputs to calibrate on; use a method without calibration "
                            "(rtn, magnitude) for this model")
    groups: list[InputGroup] = []
    done: set[str] = set()
    for name in linears:
        if name in done or name not in seen_in:
            continue
        x = seen_in[name]
        names = tuple(n for n in linears if n in seen_in and seen_in[n] is x)
        done.update(names)
        producer = next(((n, m) for n, m, out in outputs if out is x), (None, None))
        groups.append(InputGroup(names, producer[1], producer[0]))
    return BlockLayout(tuple(groups), next(reversed(seen_in)) if len(seen_in) == len(linears) else None)


def run_sequential(model: nn.Module, ctx: CompressionContext, method: SequentialMethod) -> list[LayerReport]:
    """Compress ``model`` block by block on the calibration data in ``ctx``.

    Steps:
      1. Capture the inputs of decoder block 0 (hidden states plus the positional
         args and kwargs the blocks need: attention mask, position embeddings or
         ids, ...) by running the model with a pre-hook that raises a private
         sentinel exception, so nothing after block 0 runs.
      2. For block ``i``: find its input groups (one probe forward per block structure), then
         calibrate: run the block on every batch with pre-hooks on the first
         linear of each group feeding the group's accumulator (hooks live in a
         context manager that always removes them). The calibration forward
         stops at the last linear's input, as the sentinel of step 1 does: what
         that linear and the rest of the block compute is never read.
      3. Let the method compress the block's linears from its accumulators.
      4. Re-run the block, hooks off, to get its outputs *with compressed weights*
         (not for the last block: nothing reads them).
      5. Those outputs become block ``i + 1``'s inputs; block ``i``'s are dropped.
    """
    ids = calibration_tensor(ctx.calibration)
    blocks = decoder_blocks(model)
    prefix = next(name for name, m in model.named_modules() if m is blocks)
    tokens = ids.numel()
    fast, precise = forward_precision(model, ctx.forward_dtype)
    with fast():
        batches = capture_block0_inputs(model, ids)
    reports: list[LayerReport] = []
    # Blocks of one structure share their layout: probe once per structure, not per block.
    layouts: dict[tuple, tuple[list[tuple[tuple[str, ...], str | None]], str | None]] = {}
    for i, block in enumerate(blocks):
        linears = block_linears(block)
        structure = (type(block), tuple(linears))
        if structure not in layouts:
            hidden0, args0, kwargs0 = batches[0]
            with fast():
                layout = probe_block(block, hidden0, args0, kwargs0)
            layouts[structure] = [(g.names, g.producer_name) for g in layout.groups], layout.last_linear
        group_names, last_linear = layouts[structure]
        groups = [InputGroup(names, None if producer is None else block.get_submodule(producer), producer)
                  for names, producer in group_names]
        accs = {g: method.new_accumulator(g, {n: linears[n] for n in g.names}, tokens) for g in groups}

        def feed(acc):
            def fn(module, inputs):
                with precise():
                    acc.add_batch(inputs[0].detach())
            return fn

        def stop(module, inputs):
            raise _StopForward

        # Pre-hooks run in registration order: the last linear's feed (if any) before the stop.
        with hooked(pre={linears[g.names[0]]: feed(accs[g]) for g in groups}), \
                hooked(pre={} if last_linear is None else {linears[last_linear]: stop}), fast():
            for hidden, args, kwargs in batches:
                try:
                    block(hidden, *args, **kwargs)
                except _StopForward:
                    pass
        reports += method.compress_block(block, f"{prefix}.{i}.", groups, accs)
        for acc in accs.values():
            acc.free()
        del accs
        if i + 1 < len(blocks):
            with fast():
                batches = [(_block_output(block(h, *a, **k)), a, k) for h, a, k in batches]
        ctx.tick(i + 1, len(blocks), f"{prefix}.{i}")
    return reports
