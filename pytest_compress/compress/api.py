"""``compress(model, spec)``: apply a :class:`CompressionSpec` in place and report it."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field

import torch

from ..errors import CompressError, CompressWarning
from .export import ExportRecord
from .spec import CompressionSpec
from .layers import compressible_layers, weight_matrix
from .registry import CompressionContext, LayerReport, get_method


@dataclass(frozen=True)
class CompressionReport:
    """What a compression did, measured from the resulting weights.

    Attributes:
        spec: canonical spec string.
        seconds: wall time of the compression (0 when loaded from cache).
        bits_per_weight: storage bits per weight of the compressed layers, scales
            and zero points counted (16 for an uncompressed fp16 layer).
        sparsity: fraction of exactly-zero weights in the compressed layers.
        packed_bytes: bytes the whole model would take packed: quantized layers at
            their bits per weight, pruned-only layers as fp16 non-zeros plus a
            1-bit mask, every other parameter at fp16.
        layers: per-layer reports of the last step (relative weight error).
        cached: True when the weights came from the cache instead of a compression run.
        calibration: the calibration used (source, samples x tokens, digest); "" for none.
        notes: what a method did other than asked, so nobody reads its result as the plain
            algorithm's: layers AWQ could not scale, Hessians that needed extra damping, ...
            (each :class:`~pytest_compress.errors.CompressWarning` a step raised, counted).
        runtime_bits: bits per element the model runs at, scales counted, for what is
            quantized while it runs: ``"activation"`` (inputs of the compressed layers) and
            ``"kv"`` (KV-cache entries); empty for weight-only specs.
        grids: ``{layer name: WeightGrid}`` the last integer-quantizing step put the layers on
            (what :func:`~pytest_compress.compress.export.export_checkpoint` packs); empty when
            no step did, and left out of :meth:`to_dict`.
        export: the packed checkpoint written from this model, when one was asked for.
    """

    spec: str
    seconds: float
    bits_per_weight: float
    sparsity: float
    packed_bytes: int
    layers: tuple[LayerReport, ...] = field(default=())
    cached: bool = False
    calibration: str = ""
    notes: tuple[str, ...] = ()
    runtime_bits: dict = field(default_factory=dict)
    #: tensors that stay in this process: not in to_dict(), not sent between xdist workers
    grids: dict = field(default_factory=dict, repr=False, compare=False, metadata={"local": True})
    export: ExportRecord | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(dataclasses.replace(self, grids={})).items() if k != "grids"}

    @property
    def mean_layer_error(self) -> float:
        return sum(l.rel_error for l in self.layers) / len(self.layers) if self.layers else 0.0


def _methods(spec: CompressionSpec):
    return [get_method(step.method)(step) for step in spec.steps]


def attach_runtime(model, spec: CompressionSpec) -> None:
    """Install what ``spec`` quantizes while the model runs (activations, KV cache) on a model
    that already holds its compressed weights (e.g. read back from the cache)."""
    for method in _methods(spec):
        method.attach(model)


def measure(model, spec: CompressionSpec, seconds: float, layers=(), cached=False) -> CompressionReport:
    """Measure sparsity, bits and packed size of ``model`` as compressed by ``spec``."""
    methods = _methods(spec)
    quant = next((m for m in reversed(methods) if m.step.is_quantizer), None)
    pruned = any(s.sparsity > 0 for s in spec.steps)
    targets = compressible_layers(model)
    zeros = total = 0
    bits_sum = 0.0
    packed_bits = 0.0
    target_params = set()
    for module in targets.values():
        W = weight_matrix(module)
        n = W.numel()
        nz = int((W == 0).sum())
        zeros += nz
        total += n
        target_params.add(id(module.weight))
        if quant is not None:
            bpw = quant.bits_per_weight(W.shape[1])
            layer_bits = bpw * n
        elif pruned:
            bpw = 16.0
            layer_bits = 16.0 * (n - nz) + n
        else:
            bpw = 16.0
            layer_bits = 16.0 * n
        bits_sum += bpw * n
        packed_bits += layer_bits
    seen = set(target_params)
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            packed_bits += 16.0 * p.numel()
    if total == 0:
        raise CompressError("the model has no compressible linear layers")
    return CompressionReport(
        spec=str(spec),
        seconds=seconds,
        bits_per_weight=bits_sum / total,
        sparsity=zeros / total,
        packed_bytes=int(packed_bits // 8),
        layers=tuple(layers),
        cached=cached,
        runtime_bits={k: v for m in methods for k, v in m.runtime_bits(model).items()},
    )


def compress(model, spec: CompressionSpec, calibration=None, *, device="cpu", seed=0, progress=None,
             forward_dtype=None) -> CompressionReport:
    """Compress ``model`` in place with every step of ``spec``, in order.

    Example::

        report = compress(model, parse_spec("sparsegpt50+gptq4"), calibration=ids)

    ``calibration`` is a LongTensor ``[samples, seq_len]`` of token ids, needed
    by calibrated methods (GPTQ, AWQ, Wanda, SparseGPT). Pruned weights stay
    zero through later quantization steps. ``forward_dtype`` (e.g. torch.bfloat16)
    runs the calibration forward passes under autocast; the algorithms' own
    arithmetic stays float32.
    """
    start = time.perf_counter()
    layers: list[LayerReport] = []
    ctx = CompressionContext(calibration=calibration, device=device, seed=seed, progress=progress,
                             forward_dtype=forward_dtype)
    said: Counter = Counter()  # "step: what it did instead" -> times
    with torch.no_grad():
        for step in spec.steps:
            if step.is_quantizer:  # the weights end on the last quantizer's grids, if it records any
                ctx.grids = {}
            method = get_method(step.method)(step)
            if method.needs_calibration and calibration is None:
                raise CompressError(
                    f"{step} needs calibration data; pass calibration token ids to compress()"
                )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", CompressWarning)
                layers = method.apply(model, ctx) or layers  # a runtime-only step leaves the weights' report
                method.attach(model)
            for w in caught:
                if issubclass(w.category, CompressWarning):
                    said[f"{step}: {w.message}"] += 1
                else:  # not ours to summarise: pass it on as it was
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if step.sparsity > 0:
                ctx.zero_masks = {
                    name: weight_matrix(m) == 0 for name, m in compressible_layers(model).items()
                }
    notes = tuple(text if times == 1 else f"{text} ({times} times)" for text, times in said.items())
    return dataclasses.replace(measure(model, spec, time.perf_counter() - start, layers), notes=notes,
                               grids=ctx.grids)
