"""Quantized KV caches: ``kv8`` (FP8 e4m3), ``kvi8`` (int8), ``kvi4`` (int4).

The weights stay as they are; every key (after rotary embedding) and value the attention
reads is fake-quantized with one scale per token and head (``kvi4``: asymmetric, a zero
point too), as a runtime that stores its cache in that format would. Stack it after a
weight method (``awq4+kv8``). The attention hook is in :mod:`.runtime`.
"""

from __future__ import annotations

from .registry import CompressionMethod, register_method
from .runtime import attach_kv_cache


class KVCache(CompressionMethod):
    #: the runtime's KV format, its bits per element, and the scale (and zero point) bits per token and head
    fmt: str
    bits: int
    scale_bits: int

    def apply(self, model, ctx):
        return []

    def attach(self, model) -> None:
        attach_kv_cache(model, self.fmt)

    def runtime_bits(self, model) -> dict[str, float]:
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return {"kv": self.bits + self.scale_bits / head_dim}


@register_method("kv8")
class KV8(KVCache):
    fmt, bits, scale_bits = "fp8", 8, 16


@register_method("kvi8")
class KVInt8(KVCache):
    fmt, bits, scale_bits = "int8", 8, 16


@register_method("kvi4")
class KVInt4(KVCache):
    fmt, bits, scale_bits = "int4", 4, 32
