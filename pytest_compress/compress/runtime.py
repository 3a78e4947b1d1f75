"""What a compression does while the model runs: quantized activations and a quantized KV cache.

Weight formats rewrite weights once; activation and KV-cache formats act on every forward.
:func:`attach_activations` and :func:`attach_kv_cache` install them on an in-process model, so every engine that runs it (and
every suite) measures their effect:

* activations: a forward pre-hook on each compressible linear fake-quantizes its input,
  one dynamic scale per token (FP8 e4m3, int8, or NVFP4/MXFP4 groups along the hidden
  dimension), as the W8A8 / FP8-dynamic kernels do;
* KV cache: an attention function (registered with transformers' ``AttentionInterface``)
  fake-quantizes the keys (after rotary embedding) and values it is handed, one scale per
  token and head (``kvi4``: asymmetric, a zero point too), then calls the model's own
  attention. Each token is quantized alone, so quantizing the whole cache at every step
  equals quantizing each entry once as it is written.

What was attached is written into ``model.config`` (``pytest_compress_runtime``), so the
weights fingerprint, and every cache key derived from it, tells the model from its
baseline even when its weights are bit-identical (``kv8`` alone).
"""

from __future__ import annotations

import sys

import torch

from ..errors import CompressError
from .layers import compressible_layers
from .number_formats import fake_quantize_fp4_tokens, fake_quantize_fp8, fake_quantize_int

CONFIG_KEY = "pytest_compress_runtime"
KV_ATTENTION = "pytest_compress_quantized_kv"

#: the formats :func:`quantize_tokens` takes for activations (per token; the 4-bit floats in their
#: own groups along the hidden dimension) and for the KV cache (per token and head)
ACTIVATION_FORMATS = ("fp8", "int8", "nvfp4", "mxfp4")
KV_FORMATS = ("fp8", "int8", "int4")


def quantize_tokens(x: torch.Tensor, fmt: str) -> torch.Tensor:
    """``x`` ``[..., dim]`` fake-quantized in ``fmt`` along its last dimension, in its own dtype."""
    if fmt == "fp8":
        out = fake_quantize_fp8(x)
    elif fmt == "int8":
        out = fake_quantize_int(x, 8)
    elif fmt == "int4":
        out = fake_quantize_int(x, 4, symmetric=False)
    elif fmt in ("nvfp4", "mxfp4"):
        out = fake_quantize_fp4_tokens(x, fmt)
    else:
        raise ValueError(f"unknown runtime format {fmt!r}")
    return out.to(x.dtype)


def runtime_settings(model) -> dict:
    """What :func:`attach` put on ``model`` (empty for a model without runtime quantization)."""
    return dict(getattr(getattr(model, "config", None), CONFIG_KEY, None) or {})


def _record(model, **settings) -> None:
    setattr(model.config, CONFIG_KEY, {**runtime_settings(model), **settings})


def _already(model, key: str, fmt: str) -> bool:
    """True when ``fmt`` is attached for ``key`` (attaching again changes nothing); a different
    format there is a spec that asks for two at once, refused rather than one silently kept."""
    attached = runtime_settings(model).get(key)
    if attached is not None and attached != fmt:
        what = {"activations": "activations", "kv_cache": "the KV cache"}[key]
        raise CompressError(f"a spec quantizes {what} in one format only: {attached} is attached and {fmt} "
                            "was asked for too; keep one of the two steps")
    return attached == fmt


def attach_activations(model, fmt: str) -> None:
    """Quantize the input of every compressible linear to ``fmt`` at run time."""
    if fmt not in ACTIVATION_FORMATS:
        raise ValueError(f"unknown activation format {fmt!r}; known: {', '.join(ACTIVATION_FORMATS)}")
    if _already(model, "activations", fmt):
        return

    def hook(module, args):
        return (quantize_tokens(args[0], fmt), *args[1:])

    for module in compressible_layers(model).values():
        module.register_forward_pre_hook(hook)
    _record(model, activations=fmt)


def _quantized_kv_attention(module, query, key, value, attention_mask, **kwargs):
    settings = getattr(module.config, CONFIG_KEY)
    fmt, inner = settings["kv_cache"], settings["attention"]
    if inner == "eager":  # not in the interface: each modeling file defines its own
        base = sys.modules[type(module).__module__].eager_attention_forward
    else:
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        base = ALL_ATTENTION_FUNCTIONS[inner]
    return base(module, query, quantize_tokens(key, fmt), quantize_tokens(value, fmt), attention_mask, **kwargs)


def attach_kv_cache(model, fmt: str) -> None:
    """Quantize every key and value the attention reads to ``fmt`` (per token and head)."""
    if fmt not in KV_FORMATS:
        raise ValueError(f"unknown KV-cache format {fmt!r}; known: {', '.join(KV_FORMATS)}")
    from transformers.modeling_utils import AttentionInterface

    if _already(model, "kv_cache", fmt):
        return
    config = model.config
    current = getattr(config, "_attn_implementation", None) or "eager"
    if current not in ("eager", "sdpa"):
        raise CompressError(f"a quantized KV cache is simulated over eager or sdpa attention; this model runs "
                            f"{current!r}: load it with attn_implementation='sdpa'")
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    name = f"{KV_ATTENTION}_{current}"
    AttentionInterface.register(name, _quantized_kv_attention)
    # transformers builds no attention mask at all for an implementation without a mask function
    # (padding and cached prefixes would go unmasked): ours takes the inner attention's
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS[current])
    _record(model, kv_cache=fmt, attention=current)
    for sub in model.modules():  # composite configs: each sub-model reads its own config
        sub_config = getattr(sub, "config", None)
        if sub_config is not None and getattr(sub_config, "_attn_implementation", None) == current:
            sub_config._attn_implementation = name
            if sub_config is not config:
                setattr(sub_config, CONFIG_KEY, getattr(config, CONFIG_KEY))
