"""Side-by-side benchmarks of pytest-compress against the tools users would pick instead.

Not part of the installed package; run from the repository root (see benchmarks/README.md).
"""
