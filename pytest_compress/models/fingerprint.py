"""Model identity from the weights, never the name.

The fingerprint hashes every parameter and buffer (name, dtype, shape, bytes)
so two models share a fingerprint only when their weights are identical;
it is the root of every cache key derived from a model.
"""

from __future__ import annotations

import hashlib

import torch


def weights_fingerprint(model: torch.nn.Module) -> str:
    h = hashlib.blake2b(digest_size=16)
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
