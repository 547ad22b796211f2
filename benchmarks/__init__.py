"""srcgrad's benchmark suite: ``python -m benchmarks [--quick]`` (see run.py)."""
