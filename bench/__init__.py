"""Benchmarks for Client Registry: ``make bench`` (or ``python -m bench``).

Each measurement runs side by side with a baseline from the same run, so the
ratio means something on a shared, noisy machine. Figures are printed as a
table and written to ``bench/results.json``; nothing here asserts a timing,
and nothing here is part of the test suite.
"""
