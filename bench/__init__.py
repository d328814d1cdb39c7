"""Benchmarks: each module is `python -m bench.<name>` and writes JSON to bench/results/."""
