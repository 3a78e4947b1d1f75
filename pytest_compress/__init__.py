"""pytest-compress: compression regression testing of LLMs, as a pytest plugin.

Public API (imported lazily, so ``import pytest_compress.engine`` in a notebook
pulls in neither pytest nor the plugin)::

    from pytest_compress import agentic_task, trust_task, compress_task
    from pytest_compress import parse_spec, CompressionSpec
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "agentic_task": "pytest_compress.markers",
    "trust_task": "pytest_compress.markers",
    "compress_task": "pytest_compress.markers",
    "parse_spec": "pytest_compress.spec",
    "parse_spec_list": "pytest_compress.spec",
    "CompressionSpec": "pytest_compress.spec",
    "MethodStep": "pytest_compress.spec",
    "PairedResult": "pytest_compress.results",
    "Verdict": "pytest_compress.gate",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pytest_compress' has no attribute {name!r}")
