"""Training-set construction, model fitting and calibration (plain Python, no Dagster)."""
