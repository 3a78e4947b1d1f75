"""A name -> class registry filled by decorators in modules imported on first use.

Compression methods and suites each keep one; adding one is adding a module to
the registry's ``modules`` map, so nothing heavy loads at plugin import time.
"""

from __future__ import annotations

import importlib


class Registry:
    def __init__(self, kind: str, modules: dict[str, str]):
        self.kind = kind
        self.modules = modules
        self._classes: dict[str, type] = {}

    def register(self, name: str):
        """Class decorator: register ``cls`` under ``name`` (and set ``cls.name``)."""

        def deco(cls):
            known = self._classes.get(name)
            # the same class again is a re-import of its module (importlib.reload, a test
            # runner that drops modules), which replaces it; another class is a clash
            if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name
            self._classes[name] = cls
            return cls

        return deco

    def load(self, name: str) -> type | None:
        """The class for ``name``, importing its module if needed; None when the
        module does not exist (or registers nothing under that name)."""
        if name not in self._classes and name in self.modules:
            module = self.modules[name]
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        return self._classes.get(name)
