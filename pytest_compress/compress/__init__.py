"""Compression methods behind one verb: ``compress(model, spec, ...)``.

Import-light: the methods themselves load on first use through the registry.
"""

from .api import CompressionReport, compress
from .registry import CompressionContext, CompressionMethod, LayerReport, get_method, register_method

__all__ = [
    "CompressionContext",
    "CompressionMethod",
    "CompressionReport",
    "LayerReport",
    "compress",
    "get_method",
    "register_method",
]
