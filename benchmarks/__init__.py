"""Benchmarks: each ``bench_*.py`` is one command that prints its setup and a results table.

Run them from the repository root, e.g. ``.venv/bin/python -m benchmarks.bench_ann --quick``;
``benchmarks/README.md`` says what each one measures and ``RESULTS.md`` holds the numbers.
"""
