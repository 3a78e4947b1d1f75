"""The ``--compress`` grammar under its public name; it lives with the methods that define it
(:mod:`pytest_compress.compress.spec`, built from :mod:`pytest_compress.compress.registry`)."""

from .compress.forms import DEFAULT_GROUP_SIZE, MethodStep
from .compress.spec import CompressionSpec, parse_spec, parse_spec_list, valid_forms

__all__ = ["DEFAULT_GROUP_SIZE", "CompressionSpec", "MethodStep", "parse_spec", "parse_spec_list", "valid_forms"]
