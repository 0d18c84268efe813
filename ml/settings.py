"""Where Vigil keeps things, read from the environment (documented in README.md).

Relative paths resolve against the current directory once, here, so every consumer (Python,
the dbt subprocess, the Dagster UI) sees the same absolute location.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_MEMORY_LIMIT = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B|%)", re.IGNORECASE)


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


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for Vigil's sessions and dbt's local target (`VIGIL_DUCKDB_MEMORY_LIMIT`,
    e.g. `4GB` or `50%`). Above it DuckDB spills to a temporary folder beside the warehouse file
    instead of growing: a big backfill gets slower, not killed. Default `4GB`."""
    value = os.environ.get("VIGIL_DUCKDB_MEMORY_LIMIT", "4GB").strip()
    if not _MEMORY_LIMIT.fullmatch(value):
        raise ValueError(f"VIGIL_DUCKDB_MEMORY_LIMIT must look like 4GB, 512MiB or 50%, got {value!r}")
    return value


def duckdb_threads() -> int:
    """Worker threads per DuckDB session (`VIGIL_DUCKDB_THREADS`); default: the machine's cores."""
    value = os.environ.get("VIGIL_DUCKDB_THREADS")
    threads = int(value) if value else (os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"VIGIL_DUCKDB_THREADS must be a positive integer, got {value!r}")
    return threads
