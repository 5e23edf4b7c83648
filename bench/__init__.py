"""Benchmarks, run as ``python -m bench.<module>``; results land in bench/results/."""
