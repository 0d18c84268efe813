"""The near-real-time path: micro-batches that re-score the accounts new data touched, with the
daily mart's feature definitions, between daily runs (README, "Near-real-time re-scoring")."""
