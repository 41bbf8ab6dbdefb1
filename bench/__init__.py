"""Benchmarks (`make bench`): each `bench_*.py` module runs in its own process and prints JSON rows."""
