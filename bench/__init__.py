"""mcav benchmarks: ``python -m bench.run`` runs every measured path and writes a report (see README)."""
