"""Model identity from the weights, never the name; the environment that produced an answer.

The fingerprint hashes every parameter and buffer (name, dtype, shape, bytes)
and the architecture settings of the config, so two models share a fingerprint
only when they compute the same function: a directory whose weights were
swapped gets a new fingerprint under the same name, and a copy of the same
weights under another path keeps its fingerprint. It is the root of every
cache key derived from a model.
"""

from __future__ import annotations

import hashlib
import json

import torch

# Config entries that record where or how a checkpoint was stored, not what it computes:
# leaving them out keeps the fingerprint of a copy (other path, other serialisation) unchanged.
STORAGE_ONLY_CONFIG_KEYS = frozenset({
    "_name_or_path", "transformers_version", "dtype", "torch_dtype", "quantization_config", "_commit_hash",
    "architectures", "_attn_implementation_autoset", "_attn_implementation",
})


def config_fingerprint_fields(config) -> dict:
    """The config entries that change what the model computes."""
    if config is None:
        return {}
    return {k: v for k, v in config.to_dict().items() if k not in STORAGE_ONLY_CONFIG_KEYS}


def weights_fingerprint(model: torch.nn.Module) -> str:
    h = hashlib.blake2b(digest_size=16)
    fields = config_fingerprint_fields(getattr(model, "config", None))
    h.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def tokenizer_fingerprint(tokenizer) -> str:
    """Digest of the vocabulary, special tokens and chat template."""
    h = hashlib.blake2b(digest_size=16)
    vocab = tokenizer.get_vocab()
    for tok in sorted(vocab):
        h.update(f"{tok}\x00{vocab[tok]}\x01".encode())
    h.update(repr(sorted(map(str, tokenizer.all_special_tokens))).encode())
    h.update(str(getattr(tokenizer, "chat_template", None)).encode())
    return h.hexdigest()


def environment_fingerprint(device: str, dtype) -> dict:
    """What, besides the model and the inputs, changes a model's answers: library
    versions (kernels and defaults change between releases), the device kind (and GPU
    model: kernels differ between GPU generations) and the evaluation dtype.

    Recorded with every cached baseline; a stored baseline from another environment is
    reported and recomputed (see :meth:`pytest_compress.cache.Cache.json_or_compute`).
    The device index is left out: ``cuda:0`` and ``cuda:1`` of one machine give one answer.
    """
    import transformers

    from .. import __version__

    kind = str(device).split(":")[0]
    env = {
        "pytest_compress": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
        "device": kind, "dtype": str(dtype).replace("torch.", ""),
    }
    if kind == "cuda" and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env
