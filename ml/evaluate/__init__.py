"""Evaluation of risk scores on a held-out block (plain Python, no Dagster)."""
