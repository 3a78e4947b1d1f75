"""The project's exceptions and warnings.

Every error a user can cause derives from :class:`CompressError` and carries a
message that names the bad value, what is valid, and how to fix it. The plugin
turns :class:`CompressUsageError` into a pytest usage error (exit code 4).
This module imports nothing heavy so the plugin can import it eagerly.
"""

from __future__ import annotations

import difflib


class CompressError(Exception):
    """Base class of every error pytest-compress raises on purpose."""


class CompressUsageError(CompressError):
    """Misuse that is known before any model loads: a bad spec, option or limit."""


class ModelLoadError(CompressError):
    """A model, tokenizer or checkpoint could not be found or loaded."""


class NotBuiltError(CompressError):
    """A method or suite that the grammar knows but this version does not implement."""


class DatasetError(CompressError):
    """A user-supplied case file is malformed; the message names line and field."""


class CacheIntegrityError(CompressError):
    """A cache entry failed its integrity check (it is recomputed, never trusted)."""


class CompressWarning(UserWarning):
    """Base of the warnings pytest-compress emits (suspicious gains, fallbacks)."""


def did_you_mean(name: str, choices) -> str:
    """' Did you mean X?' when ``name`` is close to one of ``choices``, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
