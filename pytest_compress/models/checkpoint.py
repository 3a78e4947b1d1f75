"""A compressed checkpoint built by another tool, as the compressed side of the gate.

``--compressed-model=PATH_OR_ID`` loads the compressed side instead of making it.
This module knows what such checkpoints look like without loading them:

* the format, from ``config.json``'s ``quantization_config`` (GPTQ, AWQ,
  compressed-tensors, ...) or a GGUF file's header, which names the spec id
  shown in test ids and reports (``gptq4g128@my-model``, ``gguf-q4_1@x.gguf``,
  ``loaded@my-model`` for a plain checkpoint) and the optional package its
  loader needs;
* whether baseline and checkpoint are one model family (architecture,
  vocabulary, tokenization of a probe text), checked cheaply from the headers
  before anything loads and fully once both are loaded;
* the achieved bits and sparsity of the loaded checkpoint: read from the format
  for GGUF and for packed formats whose layers are no longer dense, otherwise
  measured from the weights (sparsity always, bits by finding the quantization
  grid the weights lie on).

Nothing here imports torch at module level: the plugin reads formats at
configuration time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import CompressUsageError, ModelLoadError
from .loading import ModelSource, resolve_model

#: quant_method -> (import names its transformers loader needs, the install command)
FORMAT_PACKAGES = {
    "gptq": (("optimum", "gptqmodel"), "pip install optimum gptqmodel"),
    "awq": (("gptqmodel",), "pip install gptqmodel"),
    "compressed-tensors": (("compressed_tensors",), 'pip install "compressed-tensors>=0.15.0"'),
    "bitsandbytes": (("bitsandbytes",), "pip install bitsandbytes"),
    "gguf": (("gguf",), "pip install gguf"),
}
#: A probe text mixing what tokenizers split differently: case, digits, punctuation,
#: accents, symbols, JSON, indentation and a line break.
PROBE_TEXT = ('Probe 42: Wren set 3 alarms at 07:15 -- café, naïve ✓\n'
              '\t{"tool": "set_alarm", "args": {"time": "07:15"}} 1.5e-3 <= x?')
#: GGUF tensors that are the decoder blocks' weight matrices (the layers built-in methods compress).
GGUF_BLOCK_PREFIX = "blk."
#: Group sizes tried when looking for a quantization grid (0 = one group per row), widest first.
GRID_GROUP_SIZES = (0, 1024, 512, 256, 128, 64, 32)
GRID_MAX_BITS = 8
#: Rows per layer inspected for the grid: enough to see it, cheap on a 7B model.
GRID_SAMPLE_ROWS = 64
#: How far (in grid steps) a stored value may sit off the grid: covers fp32 storage of every
#: grid and bf16/fp16 storage of 2-5 bit grids; finer grids stored in 16 bits are not
#: recognised (rounding moves values by more than this) and read as 16 bits.
GRID_TOLERANCE = 0.1
#: Below this fraction of exact zeros a dense checkpoint is not counted as pruned.
PRUNED_MIN_SPARSITY = 0.005


class ModelFamilyError(CompressUsageError):
    """Baseline and compressed checkpoint are not the same model family."""


@dataclass(frozen=True)
class CheckpointFormat:
    """What a checkpoint's files say about how it was compressed.

    Attributes:
        kind: ``gguf``, a transformers ``quant_method`` (``gptq``, ``awq``,
            ``compressed-tensors``, ...) or ``plain`` (dense weights, no config).
        label: the spec id's part before ``@`` (``gptq4g128``, ``gguf-q4_1``, ``loaded``).
        bits: weight bits stated by the format, when it states them.
        group_size: columns per quantization group stated by the format (0 = per row).
        symmetric: the format's grid has no zero point.
        sparsity: sparsity stated by the format (compressed-tensors), else None.
        format_bits_per_weight: storage bits per block weight computed from the GGUF
            block layouts, else None.
        format_bytes: bytes of all tensors as stored in a GGUF file, else None.
    """

    kind: str
    label: str
    bits: int | None = None
    group_size: int | None = None
    symmetric: bool = False
    sparsity: float | None = None
    format_bits_per_weight: float | None = None
    format_bytes: int | None = None


@dataclass(frozen=True)
class CheckpointSpec:
    """The compressed side loaded from ``model``; stands where a CompressionSpec stands.

    ``str()`` is the spec id used by test ids, cache reports and the summary:
    ``<format label>@<checkpoint name>``.
    """

    model: str
    label: str
    format: CheckpointFormat

    steps = ()  # no in-process compression step

    @property
    def is_none(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.label


# -- reading formats ---------------------------------------------------------------------

@dataclass(frozen=True)
class GGUFHeader:
    """The parts of a GGUF file's header this project uses."""

    architecture: str
    file_type: int | None
    vocab_size: int | None
    tensors: tuple[tuple[str, tuple[int, ...], int], ...]  # (name, shape, ggml type)
    offsets: tuple[int, ...] = ()  # each tensor's data offset, from data_start
    data_start: int = 0  # where the tensor data begins in the file (the header's end, aligned)


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def read_gguf_header(path: str | os.PathLike) -> GGUFHeader:
    """Read the key-value section and the tensor table of a GGUF file, skipping the
    long arrays (vocabulary, merges) instead of decoding them: milliseconds where
    ``gguf.GGUFReader`` takes seconds on a 49k-token vocabulary."""
    wanted = {"general.architecture", "general.file_type", "general.alignment"}
    found: dict[str, object] = {}
    vocab_size = None
    with open(path, "rb") as f:
        def unpack(fmt):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(unpack("<Q")).decode("utf-8", errors="replace")

        def skip_value(kind: int):
            if kind == _GGUF_STRING:
                f.seek(unpack("<Q"), 1)
            elif kind == _GGUF_ARRAY:
                item, count = unpack("<I"), unpack("<Q")
                if item in _GGUF_SCALARS:
                    f.seek(struct.calcsize(_GGUF_SCALARS[item]) * count, 1)
                else:
                    for _ in range(count):
                        skip_value(item)
            else:
                f.seek(struct.calcsize(_GGUF_SCALARS[kind]), 1)

        if f.read(4) != b"GGUF":
            raise ModelLoadError(f"{path} is not a GGUF file (bad magic); re-export it with llama.cpp")
        try:
            unpack("<I")  # version
            n_tensors, n_kv = unpack("<Q"), unpack("<Q")
            for _ in range(n_kv):
                key, kind = string(), unpack("<I")
                if key in wanted and kind in _GGUF_SCALARS:
                    found[key] = unpack(_GGUF_SCALARS[kind])
                elif key in wanted and kind == _GGUF_STRING:
                    found[key] = string()
                elif key == "tokenizer.ggml.tokens" and kind == _GGUF_ARRAY:
                    item, vocab_size = unpack("<I"), unpack("<Q")
                    for _ in range(vocab_size):
                        skip_value(item)
                else:
                    skip_value(kind)
            tensors, offsets = [], []
            for _ in range(n_tensors):
                name = string()
                shape = tuple(unpack("<Q") for _ in range(unpack("<I")))
                tensors.append((name, shape, unpack("<I")))
                offsets.append(unpack("<Q"))
            alignment = int(found.get("general.alignment") or 32)
            data_start = -(-f.tell() // alignment) * alignment
        except (struct.error, KeyError, MemoryError, OverflowError, ValueError) as exc:
            raise ModelLoadError(f"{path} is truncated or corrupt: its GGUF header cannot be read ({exc}); "
                                 "re-download or re-export it") from None
    return GGUFHeader(str(found.get("general.architecture", "")), found.get("general.file_type"), vocab_size,
                      tuple(tensors), tuple(offsets), data_start)


def _gguf_format(header: GGUFHeader) -> CheckpointFormat:
    import gguf

    sizes = gguf.GGML_QUANT_SIZES
    blocks = [(s, t) for name, s, t in header.tensors if name.startswith(GGUF_BLOCK_PREFIX) and len(s) == 2]
    weights = sum(_numel(s) for s, _ in blocks)
    bits = sum(_numel(s) * sizes[t][1] * 8 / sizes[t][0] for s, t in blocks) / weights if weights else None
    stored = sum(_numel(s) * sizes[t][1] // sizes[t][0] for _, s, t in header.tensors)
    try:  # the file type names mixes (Q4_K_M); else the block tensors' most common type
        name = gguf.LlamaFileType(header.file_type).name.removeprefix("MOSTLY_")
    except ValueError:
        name = gguf.GGMLQuantizationType(Counter(t for _, t in blocks).most_common(1)[0][0]).name if blocks else "f32"
    return CheckpointFormat("gguf", f"gguf-{name.lower()}", format_bits_per_weight=bits, format_bytes=stored)


def keeps_own_dtype(model) -> bool:
    """Whether a quantizer packed ``model``'s layers (GPTQ, AWQ, compressed-tensors, ...):
    transformers refuses to cast such a model's dtype. GGUF weights are dequantized on load."""
    quantizer = getattr(model, "hf_quantizer", None)
    return quantizer is not None and getattr(quantizer.quantization_config, "quant_method", None) != "gguf"


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _group_label(group_size) -> str:
    return f"g{0 if group_size is None or int(group_size) <= 0 else int(group_size)}"


def _quantized_format(q: dict) -> CheckpointFormat:
    """A transformers ``quantization_config`` as a :class:`CheckpointFormat`."""
    method = str(q.get("quant_method", "unknown")).lower().replace("_", "-")
    if method == "gptq":
        bits, group = int(q.get("bits", 4)), int(q.get("group_size", 128))
        label = f"gptq{bits}{_group_label(group)}" + ("-act" if q.get("desc_act") else "")
        return CheckpointFormat("gptq", label, bits, max(group, 0), bool(q.get("sym", True)))
    if method == "awq":
        bits, group = int(q.get("bits", q.get("w_bit", 4))), int(q.get("group_size", q.get("q_group_size", 128)))
        return CheckpointFormat("awq", f"awq{bits}{_group_label(group)}", bits, max(group, 0),
                                not q.get("zero_point", True))
    if method == "compressed-tensors":
        groups = [g for g in (q.get("config_groups") or {}).values() if isinstance(g, dict)]
        weights = next((g.get("weights") for g in groups if g.get("weights")), None) or {}
        acts = next((g.get("input_activations") for g in groups if g.get("input_activations")), None) or {}
        sparse = (q.get("sparsity_config") or {}).get("global_sparsity")
        bits = weights.get("num_bits")
        group = weights.get("group_size") if weights.get("strategy") == "group" else 0
        label = "ct"
        if bits:
            label += f"-w{bits}a{acts.get('num_bits', 16)}{_group_label(group)}"
        if sparse:
            label += f"-s{round(100 * float(sparse))}"
        return CheckpointFormat("compressed-tensors", label, bits, group if bits else None,
                                bool(weights.get("symmetric", True)), float(sparse) if sparse else None)
    bits = q.get("bits") or (4 if q.get("load_in_4bit") else 8 if q.get("load_in_8bit") else None)
    return CheckpointFormat(method, f"{method}{bits or ''}", bits)


def compressed_tensors_config(source: ModelSource) -> dict | None:
    """The ``quantization_config`` of a compressed-tensors checkpoint, else None (GGUF, other formats)."""
    if source.gguf_file or source.kind not in ("dir", "hub"):
        return None
    q = _config_dict(source).get("quantization_config")
    if isinstance(q, dict) and str(q.get("quant_method", "")).lower().replace("_", "-") == "compressed-tensors":
        return q
    return None


#: compressed-tensors input-activation schemes and the run-time format that simulates each one
#: exactly (:func:`pytest_compress.compress.runtime.attach_activations`)
CT_ACTIVATION_FORMATS = {("int", 8, "token", True, True): "int8", ("float", 8, "token", True, True): "fp8"}


def compressed_tensors_activations(q: dict, name: str) -> str | None:
    """The run-time format that quantizes activations as ``q`` asks (None: weight-only); a scheme
    the HF engine does not simulate (static scales, a KV-cache scheme) is refused, not dropped."""
    if q.get("kv_cache_scheme"):
        raise ModelLoadError(f"{name} quantizes its KV cache ({q['kv_cache_scheme']}); the HF engine does not "
                             "simulate a checkpoint's KV-cache scheme: gate its weights with a copy whose "
                             "config.json has no kv_cache_scheme")
    formats = set()
    for group in (q.get("config_groups") or {}).values():
        acts = (group or {}).get("input_activations") if isinstance(group, dict) else None
        if not acts:
            continue
        key = (acts.get("type"), acts.get("num_bits"), acts.get("strategy"), acts.get("dynamic") is True,
               acts.get("symmetric", True) is True)
        if key not in CT_ACTIVATION_FORMATS:
            raise ModelLoadError(f"{name} quantizes activations as {acts}; the HF engine simulates dynamic "
                                 "per-token int8 and fp8 activations only")
        formats.add(CT_ACTIVATION_FORMATS[key])
    if len(formats) > 1:
        raise ModelLoadError(f"{name} quantizes activations in {len(formats)} formats; one is simulated")
    return formats.pop() if formats else None


def _config_dict(source: ModelSource) -> dict:
    """``config.json`` of a directory or hub source (hub: from the local HF cache or downloaded)."""
    if source.kind == "hub":
        from huggingface_hub import hf_hub_download

        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        try:
            path = hf_hub_download(source.location, "config.json", local_files_only=offline)
        except Exception as exc:  # hub errors have no common base; every one means "cannot read it"
            raise ModelLoadError(f"could not read config.json of {source.location}: {exc}") from None
    else:
        path = Path(source.location) / "config.json"
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"could not read {path}: {exc}") from None


def read_format(source: ModelSource) -> CheckpointFormat:
    """The :class:`CheckpointFormat` of ``source`` from its files (nothing is loaded)."""
    if source.gguf_file:
        return _gguf_format(read_gguf_header(Path(source.location) / source.gguf_file))
    quantization = _config_dict(source).get("quantization_config")
    if isinstance(quantization, dict):
        return _quantized_format(quantization)
    return CheckpointFormat("plain", "loaded")


def require_loader(fmt: CheckpointFormat, name: str) -> None:
    """Refuse early, naming the package and the install command, when ``fmt``'s loader is missing."""
    packages, command = FORMAT_PACKAGES.get(fmt.kind, ((), ""))
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise ModelLoadError(
            f"{name} is a {fmt.kind} checkpoint; loading it through transformers needs "
            f"{', '.join(p.replace('_', '-') for p in missing)}, which is not installed. Install it with:\n"
            f"    {command}"
        )


def checkpoint_spec(text: str, baseline: str) -> CheckpointSpec:
    """The :class:`CheckpointSpec` of ``--compressed-model=text`` against the baseline
    ``baseline`` (a ``--compress-model`` value): the checkpoint is found, its format read,
    its loader's package checked and its family compared with the baseline's from the
    headers, all before any weights load."""
    source = resolve_model(text)
    fmt = read_format(source)
    require_loader(fmt, str(source))
    base = resolve_model(baseline)
    check_same_family(source_facts(base), source_facts(source), str(base), str(source))
    return CheckpointSpec(text, f"{fmt.label}@{source}", fmt)


# -- same family ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyFacts:
    """What must match between baseline and compressed model; None = not known yet."""

    model_type: str
    architectures: tuple[str, ...] | None
    vocab_size: int | None
    tokenizer_size: int | None = None
    probe_ids: tuple[int, ...] | None = None


def _normal_arch(name: str) -> str:
    # llama.cpp spells some architectures without separators (qwen2moe, gpt-oss) and stores
    # Mistral as llama; transformers maps them back on load.
    name = name.lower().replace("_", "").replace("-", "")
    return "llama" if name == "mistral" else name


def source_facts(source: ModelSource) -> FamilyFacts:
    """Family facts from the files alone (config.json or the GGUF header)."""
    if source.gguf_file:
        header = read_gguf_header(Path(source.location) / source.gguf_file)
        return FamilyFacts(header.architecture, None, header.vocab_size)
    config = _config_dict(source)
    archs = config.get("architectures")
    return FamilyFacts(str(config.get("model_type", "")), tuple(archs) if archs else None, config.get("vocab_size"))


def loaded_facts(loaded) -> FamilyFacts:
    """Family facts of a loaded model, its tokenizer included."""
    config = loaded.model.config
    archs = getattr(config, "architectures", None)
    return FamilyFacts(
        str(config.model_type), tuple(archs) if archs else None, getattr(config, "vocab_size", None),
        len(loaded.tokenizer), tuple(loaded.tokenizer.encode(PROBE_TEXT)),
    )


def family_differences(a: FamilyFacts, b: FamilyFacts) -> list[str]:
    """What differs between two models' family facts (facts unknown on either side are skipped)."""
    out = []
    if _normal_arch(a.model_type) != _normal_arch(b.model_type):
        out.append(f"architecture: model_type {a.model_type!r} vs {b.model_type!r}")
    elif a.architectures and b.architectures and set(a.architectures) != set(b.architectures):
        out.append(f"architecture: {', '.join(a.architectures)} vs {', '.join(b.architectures)}")
    if a.vocab_size and b.vocab_size and a.vocab_size != b.vocab_size:
        out.append(f"vocabulary size: {a.vocab_size} vs {b.vocab_size}")
    elif a.tokenizer_size and b.tokenizer_size and a.tokenizer_size != b.tokenizer_size:
        out.append(f"tokenizer size: {a.tokenizer_size} vs {b.tokenizer_size} tokens")
    if a.probe_ids is not None and b.probe_ids is not None and a.probe_ids != b.probe_ids:
        at = next((i for i, (x, y) in enumerate(zip(a.probe_ids, b.probe_ids)) if x != y),
                  min(len(a.probe_ids), len(b.probe_ids)))
        out.append(f"tokenization: the probe text {PROBE_TEXT!r} encodes to {len(a.probe_ids)} vs "
                   f"{len(b.probe_ids)} tokens, first difference at token {at}")
    return out


def check_same_family(baseline: FamilyFacts, compressed: FamilyFacts, baseline_name: str, compressed_name: str):
    """Raise :class:`ModelFamilyError` naming every difference (baseline first)."""
    differences = family_differences(baseline, compressed)
    if differences:
        raise ModelFamilyError(
            f"--compressed-model {compressed_name} is not a compressed version of the baseline {baseline_name}; "
            "they differ in\n  " + "\n  ".join(differences) + "\n(baseline value first). Point --compress-model at "
            "the model the checkpoint was compressed from."
        )


# -- bits and sparsity -------------------------------------------------------------------

def _grid_bits(groups, tolerance: float = GRID_TOLERANCE) -> int | None:
    """Bits of the coarsest uniform grid every row of ``groups`` ([n, width]) lies on, or None.

    A group's grid step is taken as its smallest gap between distinct values (or a half or
    third of it, when neighbouring levels are unused); the group is on the grid when every
    value is a whole number of steps above its minimum, and needs ``ceil(log2(steps + 1))`` bits.
    """
    import math

    import torch

    values, _ = groups.float().sort(dim=1)
    gaps = values.diff(dim=1)
    gaps = torch.where(gaps > 0, gaps, torch.full_like(gaps, float("inf")))
    smallest = gaps.min(dim=1, keepdim=True).values
    offsets = values - values[:, :1]
    constant = torch.isinf(smallest).squeeze(1)
    steps_needed = torch.zeros(len(values))
    settled = constant.clone()
    for divisor in (1, 2, 3):
        step = torch.where(torch.isinf(smallest), torch.ones_like(smallest), smallest / divisor)
        for _ in range(3):  # least-squares step through all levels: one gap alone is too coarse in bf16
            levels = (offsets / step).round()
            fitted = (offsets * levels).sum(1, keepdim=True) / (levels * levels).sum(1, keepdim=True).clamp_min(1)
            step = torch.where(fitted > 0, fitted, step)
        on_grid = ((offsets / step - levels).abs() <= tolerance).all(dim=1) & ~settled
        steps_needed = torch.where(on_grid, levels[:, -1], steps_needed)
        settled |= on_grid
    if not bool(settled.all()):
        return None
    bits = max(1, math.ceil(math.log2(float(steps_needed.max()) + 1)))
    return bits if bits <= GRID_MAX_BITS else None


def detect_grid(W) -> tuple[int, int] | None:
    """``(bits, group_size)`` of the quantization grid a weight matrix ``[out, in]`` lies on
    (group 0 = one group per row), the widest group that fits; None for dense float weights.
    Inspects :data:`GRID_SAMPLE_ROWS` evenly spaced rows."""
    import torch

    rows, cols = W.shape
    sample = W[torch.linspace(0, rows - 1, min(rows, GRID_SAMPLE_ROWS)).round().long()]
    for group in GRID_GROUP_SIZES:
        if group and (group >= cols or cols % group):
            continue
        width = group or cols
        bits = _grid_bits(sample.reshape(-1, width))
        if bits is not None:
            return bits, group
    return None


def _measured_spec(model, sparsity: float):
    """A CompressionSpec that describes the grid the dense layers lie on, so the report is
    measured exactly as for a built-in method. Layers on different grids are reported at
    the costliest one (an upper bound); a layer on no grid makes the whole model 16-bit."""
    from ..compress.layers import compressible_layers, weight_matrix
    from ..spec import CompressionSpec, MethodStep

    grids = [detect_grid(weight_matrix(m)) for m in compressible_layers(model).values()]
    steps = []
    if sparsity >= PRUNED_MIN_SPARSITY:
        steps.append(MethodStep("magnitude", sparsity_pct=min(99, max(1, round(100 * sparsity)))))
    if grids and all(g is not None for g in grids):
        # costliest: most bits, then the narrowest groups (0 = a whole row is the widest)
        bits, group = max(grids, key=lambda g: (g[0], -(g[1] or float("inf"))))
        steps.append(MethodStep("rtn", bits=bits, group_size=group))
    return CompressionSpec(tuple(steps))


def _dense_sparsity(model) -> float | None:
    """Fraction of exact zeros in the compressible layers; None when they are not dense linears."""
    from ..compress.layers import compressible_layers, weight_matrix
    from ..errors import CompressError

    try:
        layers = compressible_layers(model)
    except CompressError:
        return None
    if not layers:
        return None
    zeros = total = 0
    for module in layers.values():
        W = weight_matrix(module)
        zeros += int((W == 0).sum())
        total += W.numel()
    return zeros / total


def checkpoint_report(loaded, spec: CheckpointSpec, seconds: float):
    """The CompressionReport of a loaded checkpoint, under the spec id ``str(spec)``.

    Sparsity is measured from the loaded weights whenever the compressed layers are dense
    (GGUF is dequantized on load, so they are). Bits per weight come from the GGUF block
    layouts (Q4_1: 32 weights + fp16 scale + fp16 min = 5.0 bits), else from the grid the
    dense weights lie on, else (packed layers) from the quantization config; packed bytes
    are the GGUF tensors as stored, else computed as for built-in methods, else the packed
    tensors' actual bytes.
    """
    from ..compress.api import CompressionReport, measure
    from ..compress.quantizer import bits_per_weight

    fmt, model = spec.format, loaded.model
    sparsity = _dense_sparsity(model)
    if sparsity is not None:
        report = measure(model, _measured_spec(model, sparsity), seconds)
        if fmt.format_bits_per_weight is not None:
            report = replace(report, bits_per_weight=fmt.format_bits_per_weight, packed_bytes=fmt.format_bytes)
        return replace(report, spec=str(spec))
    bits = fmt.format_bits_per_weight or float(fmt.bits or 16)
    if fmt.bits and fmt.group_size:
        bits = bits_per_weight(fmt.bits, fmt.group_size, fmt.group_size, fmt.symmetric)
    stored = fmt.format_bytes or sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return CompressionReport(str(spec), seconds, bits, fmt.sparsity or 0.0, stored)
