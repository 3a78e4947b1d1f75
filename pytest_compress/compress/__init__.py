"""Compression methods behind one verb: ``compress(model, spec, ...)``.

Import-light: the names below load on first use (``compress`` pulls in torch), and the
methods themselves load through the registry, so parsing a spec never imports torch.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "CompressionReport": ".api",
    "compress": ".api",
    "CompressionContext": ".registry",
    "CompressionMethod": ".registry",
    "LayerReport": ".registry",
    "get_method": ".registry",
    "register_method": ".registry",
    "Option": ".forms",
    "PrunerForm": ".forms",
    "QuantizerForm": ".forms",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'pytest_compress.compress' has no attribute {name!r}")
