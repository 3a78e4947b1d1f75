"""Is it a model? Integrity checks of weight files from their headers, before anything loads.

A truncated download or an interrupted export is found here in milliseconds, with a
message naming the file, instead of as a ``struct.error`` from deep inside a loader
after minutes of setup. Only headers are read: a GGUF file's tensor table, a
safetensors file's JSON header; each says where its data ends, and the file must be
at least that long.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ..errors import ModelLoadError

#: weight files transformers loads from a model directory (sharded ones through their index)
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.gguf")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_REFETCH = "re-download or re-export it"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def check_gguf(path: Path) -> None:
    """Raise :class:`ModelLoadError` when ``path`` is not a complete GGUF file."""
    import gguf

    from .checkpoint import _numel, read_gguf_header

    header = read_gguf_header(path)
    sizes = gguf.GGML_QUANT_SIZES
    try:
        end = header.data_start + max(
            (offset + _numel(shape) * sizes[kind][1] // sizes[kind][0]
             for (_, shape, kind), offset in zip(header.tensors, header.offsets)), default=0)
    except KeyError as exc:
        raise ModelLoadError(f"{path} is corrupt: a tensor has GGUF type {exc}, which this gguf package does not "
                             f"know; {_REFETCH}, or upgrade gguf (pip install -U gguf)") from None
    _check_length(path, end)


def check_safetensors(path: Path) -> None:
    """Raise :class:`ModelLoadError` when ``path`` is not a complete safetensors file."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > size - 8:
                raise ValueError(f"its header claims {length} bytes")
            header = json.loads(f.read(length))
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
    except (struct.error, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelLoadError(f"{path} is truncated or corrupt: its safetensors header cannot be read ({exc}); "
                             f"{_REFETCH}") from None
    _check_length(path, 8 + length + end)


def _check_length(path: Path, end: int) -> None:
    size = path.stat().st_size
    if size < end:
        raise ModelLoadError(f"{path} is truncated: its header describes {_size(end)} but the file holds "
                             f"{_size(size)}; {_REFETCH}")


def check_model_dir(path: Path) -> None:
    """A Hugging Face model directory: a readable config.json, weights, every shard its index
    names, and each safetensors file complete."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"{path / 'config.json'} is not valid JSON ({exc}); fix it or re-export the "
                             "model") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path / 'config.json'} ({exc.strerror or exc})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path / 'config.json'} holds a {type(config).__name__}, not a model "
                             "configuration (a JSON object); fix it or re-export the model")
    weights = sorted({w for pattern in WEIGHT_PATTERNS for w in path.glob(pattern)})
    for name in INDEX_FILES:
        if (path / name).is_file():
            weights += _shards(path, path / name)
    if not weights:
        raise ModelLoadError(f"{path} has a config.json but no weights (no {', '.join(WEIGHT_PATTERNS)} file): "
                             "copy the weight files into it, or point --compress-model at the directory that "
                             "has them")
    for file in weights:
        if file.suffix == ".safetensors":
            check_safetensors(file)


def _shards(folder: Path, index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelLoadError(f"{index} is not a valid weight index ({exc}); {_REFETCH}") from None
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ModelLoadError(f"{folder}: {index.name} names {len(names)} weight shards but "
                             f"{', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} "
                             f"{'is' if len(missing) == 1 else 'are'} missing; copy them in or {_REFETCH}")
    return [folder / n for n in names]

