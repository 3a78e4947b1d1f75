"""The compressed model as the checkpoint that ships: packed by the ``compressed-tensors`` library.

:func:`export_checkpoint` writes a directory that transformers (with compressed-tensors) and
vLLM load: ``config.json`` with a ``quantization_config`` of quant_method
``compressed-tensors``, the weights in safetensors, the tokenizer. What it writes:

* integer weight grids (rtn, gptq, awq and their stacks with pruning): format
  ``pack-quantized``, each layer's codes packed into int32 with its ``weight_scale``
  ``[rows, groups]`` and, asymmetric, its packed ``weight_zero_point`` (codes and zero points
  shifted by ``2^(bits-1)`` to the format's signed range; the dequantized weight
  ``(q - zero) * scale`` is unchanged);
* ``w8a8``: format ``int-quantized`` (int8 codes per output channel) with dynamic per-token
  int8 input activations, the scheme vLLM's W8A8 kernels read;
* a pruned-only spec: the dense weights with their zeros (compressed-tensors dropped its
  sparse formats after 0.14, so no format stores the mask);

Scales and every unquantized tensor are written in float32, the precision the simulation
computed them in: dequantizing the export gives the simulated weights bit for bit, which
:func:`export_checkpoint` checks layer by layer before it writes anything.

What a format cannot hold is refused with the reason (:class:`ExportError`), never
approximated: a ragged last group (compressed-tensors and vLLM need every layer's width to be
a multiple of the group size), floating-point formats and run-time KV-cache steps (not written
by this version), layers that are not ``nn.Linear``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import CompressError
from .layers import compressible_layers, weight_matrix
from .registry import get_method
from .runtime import CONFIG_KEY as RUNTIME_KEY
from .spec import CompressionSpec

#: what the export writes, by format
PACKED = "pack-quantized"
INT_QUANTIZED = "int-quantized"
DENSE = "dense"
INSTALL = 'pip install "compressed-tensors>=0.20"'


class ExportError(CompressError):
    """The spec's compressed model cannot be written in the format without changing it."""


@dataclass(frozen=True)
class ExportRecord:
    """A written checkpoint: where, in which format, and its files with their sizes in bytes."""

    directory: str
    format: str
    files: tuple[tuple[str, int], ...]

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def export_name(spec: CompressionSpec) -> str:
    """The directory name of ``spec``'s export: its canonical string, ``:`` and the like as ``_``."""
    return re.sub(r"[^A-Za-z0-9.+_-]", "_", str(spec))


def _weight_step(spec: CompressionSpec):
    """The step whose grids the weights end on (the last quantizer), or None for pruning only."""
    return next((s for s in reversed(spec.steps) if s.is_quantizer), None)


def export_format(spec: CompressionSpec, layer_widths: dict[str, int], linear: dict[str, bool]) -> str:
    """The format ``spec``'s model is written in, checked against the layers' widths before
    anything is compressed; raises :class:`ExportError` naming what the format cannot hold."""
    for step in spec.steps:
        method = get_method(step.method)(step)
        if method.runtime_kind == "kv_cache":
            raise ExportError(f"{spec}: the export writes weights, and {step} quantizes the KV cache while the "
                              "model runs; serve the exported weights with the runtime's own KV-cache setting "
                              "(vLLM: --kv-cache-dtype=fp8) or export the spec without it")
    not_linear = [name for name, is_linear in linear.items() if not is_linear]
    if not_linear:
        raise ExportError(f"{spec}: compressed-tensors packs nn.Linear layers, and {len(not_linear)} compressed "
                          f"layers are not (e.g. {not_linear[0]}, GPT-2's Conv1D)")
    step = _weight_step(spec)
    if step is None:
        return DENSE
    method = get_method(step.method)(step)
    if not method.records_grid:
        raise ExportError(f"{spec}: {step} is not written by this version's export, which packs integer grids "
                          "(rtn, gptq, awq, w8a8); its weights stay in the in-process simulation")
    if method.runtime_kind == "activations" and method.export_activations is None:
        raise ExportError(f"{spec}: {step} quantizes activations in a way the export does not write")
    group = step.group_size or 0
    ragged = {name: cols for name, cols in layer_widths.items() if group and cols % group}
    if ragged:
        name, cols = next(iter(ragged.items()))
        raise ExportError(
            f"{spec}: {name} is {cols} columns wide, not a multiple of the group size {group}; the simulation "
            f"quantizes its last {cols % group} columns as a narrower group, which compressed-tensors (and vLLM's "
            f"kernels) cannot hold: every group of a layer has the same width there "
            f"({len(ragged)} layers are ragged). Choose a group size that divides every width "
            f"({', '.join(sorted({str(c) for c in layer_widths.values()}))}), e.g. g{_dividing_group(layer_widths)}, "
            "or g0 for one group per row")
    return INT_QUANTIZED if method.export_activations is not None else PACKED


def _dividing_group(layer_widths: dict[str, int]) -> int:
    from math import gcd

    width = 0
    for cols in layer_widths.values():
        width = gcd(width, cols)
    return max(g for g in (32, 64, 128, 256) if width % g == 0) if width % 32 == 0 else width


def check_exportable(model, spec: CompressionSpec) -> str:
    """:func:`export_format` for ``model``'s compressible layers (and the library is installed)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("compressed_tensors") is None:
        raise ExportError(f"--compress-export writes compressed-tensors checkpoints and needs the "
                          f"compressed-tensors package, which is not installed. Install it with:\n    {INSTALL}")

    layers = compressible_layers(model)
    return export_format(spec, {n: weight_matrix(m).shape[1] for n, m in layers.items()},
                         {n: isinstance(m, torch.nn.Linear) for n, m in layers.items()})


def _scheme(grid, activations: dict | None):
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    group = grid.group_size or 0
    weights = QuantizationArgs(num_bits=grid.bits, type="int", symmetric=grid.symmetric,
                               strategy="group" if group else "channel", group_size=group or None)
    acts = None if activations is None else QuantizationArgs(**activations)
    return QuantizationScheme(targets=["Linear"], weights=weights, input_activations=acts)


def _module_state(W, grid, scheme) -> dict:
    """The layer's compressed state dict (``weight_packed``/``weight`` codes, scale, zero point)."""
    import torch

    offset = 2 ** (grid.bits - 1)  # unsigned codes -> the format's signed range
    state = {"weight": W, "weight_scale": grid.scale.clone()}
    if not scheme.weights.symmetric:
        state["weight_zero_point"] = (grid.zero - offset).to(torch.int8)
    elif not bool((grid.zero == offset).all()):
        raise ExportError("a symmetric grid's zero point is not 2^(bits-1)")
    return state


@contextmanager
def _config_as_saved(config):
    """The model's config as the export writes it: float32 (what its tensors are), and without the
    record of what this process attached at run time (the quantization_config says it instead)."""
    import torch

    dtype, runtime = config.dtype, getattr(config, RUNTIME_KEY, None)
    config.dtype = torch.float32
    if runtime is not None:
        delattr(config, RUNTIME_KEY)
    try:
        yield config
    finally:
        config.dtype = dtype
        if runtime is not None:
            setattr(config, RUNTIME_KEY, runtime)


def _bit_equal(a, b) -> bool:
    """Equal bit for bit (``torch.equal`` takes -0.0 for +0.0)."""
    import torch

    return a.shape == b.shape and torch.equal(a.contiguous().view(torch.int32), b.contiguous().view(torch.int32))


def _compressor(fmt: str):
    from compressed_tensors.compressors import BaseCompressor

    return BaseCompressor.get_value_from_registry(fmt)


def export_checkpoint(model, tokenizer, spec: CompressionSpec, grids: dict, directory: Path) -> ExportRecord:
    """Write ``model`` (compressed in place by ``spec``, float32, ``grids`` from its report) to
    ``directory`` as a compressed-tensors checkpoint; see the module docstring.

    The directory is written whole or not at all: every layer is checked first, the files go into
    a sibling temporary directory, renamed into place at the end (an old export is replaced).
    """
    import torch

    fmt = check_exportable(model, spec)
    layers = compressible_layers(model)
    state = {k: v.detach().float().clone() if v.is_floating_point() else v.detach().clone()
             for k, v in model.state_dict().items()}
    config = None
    if fmt != DENSE:
        from compressed_tensors.compressors import ModelCompressor
        from compressed_tensors.quantization import QuantizationConfig

        step = _weight_step(spec)
        method = get_method(step.method)(step)
        missing = [n for n in layers if n not in grids]
        if missing:
            raise ExportError(f"{spec}: no quantization grid was recorded for {len(missing)} layers "
                              f"(e.g. {missing[0]}); the export needs each layer's scales and zero points")
        scheme = _scheme(grids[next(iter(layers))], method.export_activations)
        compressor = _compressor(fmt)
        for name, module in layers.items():
            W, grid = weight_matrix(module), grids[name]
            if not _bit_equal(grid.fake_quantize(W), W):
                raise ExportError(f"{spec}: {name}'s weights are not on the grid its quantizer recorded (a later "
                                  "step moved them), so no packed form reproduces them")
            packed = compressor.compress(_module_state(W, grid, scheme), scheme)
            back = compressor.decompress(packed, scheme)["weight"]
            if not _bit_equal(back.float(), W):
                raise ExportError(f"{spec}: {name} does not survive {fmt} packing bit for bit "
                                  f"(largest difference {float((back.float() - W).abs().max()):.3g})")
            del state[f"{name}.weight"]
            state.update({f"{name}.{k}": v.contiguous() for k, v in packed.items()})
        ignored = sorted(n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and n not in layers)
        qconfig = QuantizationConfig(config_groups={"group_0": scheme}, ignore=ignored, format=fmt,
                                     quantization_status="compressed")
        config = ModelCompressor(quantization_config=qconfig)
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        with _config_as_saved(model.config):
            model.save_pretrained(staging, state_dict=state)
        if config is not None:
            config.update_config(str(staging))
        if tokenizer is not None:
            tokenizer.save_pretrained(staging)
        (staging / "pytest_compress.json").write_text(json.dumps({"spec": str(spec), "format": fmt}, indent=2) + "\n")
        from filelock import FileLock

        # xdist workers gating one spec write the same files: one of them replaces the old export
        with FileLock(str(directory.parent / f".{directory.name}.lock")):
            if directory.exists():
                shutil.rmtree(directory)
            staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = tuple((p.name, p.stat().st_size) for p in sorted(directory.iterdir()) if p.is_file())
    return ExportRecord(str(directory), fmt, files)
