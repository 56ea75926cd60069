"""wavenets benchmark suite: ``python -m benchmarks [--quick] [--device cuda]``."""
