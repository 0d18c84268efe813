"""Where Vigil keeps things, read from the environment (documented in README.md).

Relative paths resolve against the current directory once, here, so every consumer (Python,
the dbt subprocess, the Dagster UI) sees the same absolute location.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Root of everything generated: landing files, ground truth, warehouse, MLflow store."""
    return Path(os.environ.get("VIGIL_DATA_DIR", "data")).resolve()


def landing_dir() -> Path:
    """The landing folder ingestion reads (one sub-folder per raw table)."""
    override = os.environ.get("VIGIL_LANDING_DIR")
    return Path(override).resolve() if override else data_dir() / "landing"


def ground_truth_dir() -> Path:
    """Simulator ground truth, used only for evaluation; never read by features."""
    return data_dir() / "ground_truth"


def duckdb_path() -> Path:
    """The embedded warehouse file."""
    override = os.environ.get("VIGIL_DUCKDB_PATH")
    return Path(override).resolve() if override else data_dir() / "warehouse.duckdb"


def warehouse_engine() -> str:
    """`duckdb` (embedded default) or `snowflake` (production)."""
    engine = os.environ.get("VIGIL_WAREHOUSE", "duckdb").lower()
    if engine not in ("duckdb", "snowflake"):
        raise ValueError(f"VIGIL_WAREHOUSE must be 'duckdb' or 'snowflake', got {engine!r}")
    return engine


def dbt_target() -> str:
    """The dbt target that matches the warehouse engine."""
    return "snowflake" if warehouse_engine() == "snowflake" else "local"


def training_set_dir() -> Path:
    """Where the training_set asset saves the frame that training and evaluation read."""
    return data_dir() / "ml" / "training_set"
