"""Task suites: one module per capability, found by name through :mod:`.registry`."""

from .base import Metric, Suite
from .registry import get_suite, register_suite, select_suites, suite_names

__all__ = ["Metric", "Suite", "get_suite", "register_suite", "select_suites", "suite_names"]
