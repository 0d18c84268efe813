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


# dbt targets (dbt_project/profiles.yml) and the engine each runs on.
DBT_TARGET_ENGINES = {"local": "duckdb", "snowflake": "snowflake", "snowflake_dev": "snowflake"}
# Targets that use Vigil's schema names as-is: production, and the embedded DuckDB file (private
# to its user). The same list is dbt's var `vigil_plain_schema_targets` (a test keeps them equal).
PLAIN_SCHEMA_TARGETS = ("local", "snowflake")


def dbt_target() -> str:
    """VIGIL_DBT_TARGET if set (it must run on VIGIL_WAREHOUSE's engine), else the engine's
    default target: `local` for DuckDB, `snowflake` (production) for Snowflake."""
    engine = warehouse_engine()
    target = os.environ.get("VIGIL_DBT_TARGET") or ("snowflake" if engine == "snowflake" else "local")
    if DBT_TARGET_ENGINES.get(target) != engine:
        raise ValueError(
            f"VIGIL_DBT_TARGET={target!r} does not run on VIGIL_WAREHOUSE={engine!r}:"
            f" targets are {', '.join(f'{t} ({e})' for t, e in DBT_TARGET_ENGINES.items())}"
        )
    return target


def target_schema() -> str:
    """dbt's `target.schema` for the current target (profiles.yml reads the same variables)."""
    target = dbt_target()
    if target == "local":
        return "main"
    schema = os.environ.get("SNOWFLAKE_SCHEMA") or ("public" if target == "snowflake" else "")
    if not schema:
        raise ValueError(f"the {target} target needs SNOWFLAKE_SCHEMA (your own, e.g. dbt_<you>)")
    return schema


def schema_name(custom: str) -> str:
    """Where one of Vigil's schemas (raw, ingest, reference, staging, intermediate, marts, risk)
    lives on the current target: the name as-is on production and local DuckDB, else
    `<target schema>_<name>`. The rule of dbt_project/macros/generate_schema_name.sql, so dbt
    and Python always read and write the same schemas, and a dev run never a production one."""
    target = dbt_target()
    return custom if target in PLAIN_SCHEMA_TARGETS else f"{target_schema()}_{custom}"


# Unquoted SQL identifiers only: schema names are interpolated into SQL.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _schema(variable: str, default: str) -> str:
    name = os.environ.get(variable, default)
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{variable} must be a plain SQL identifier (letters, digits, _), got {name!r}")
    return name


def raw_schema() -> str:
    """The raw tables' schema (dbt source `marketplace`, written by ingestion): VIGIL_RAW_SCHEMA,
    default `raw`, on the current target."""
    return schema_name(_schema("VIGIL_RAW_SCHEMA", "raw"))


def ingest_schema() -> str:
    """Ingestion's ledger and quarantine (dbt source `ingest`): VIGIL_INGEST_SCHEMA, default
    `ingest`, on the current target."""
    return schema_name(_schema("VIGIL_INGEST_SCHEMA", "ingest"))


def training_set_dir() -> Path:
    """Where the training_set asset saves the frame that training and evaluation read."""
    return data_dir() / "ml" / "training_set"


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for Vigil's sessions and dbt's local target (`VIGIL_DUCKDB_MEMORY_LIMIT`,
    e.g. `4GB` or `50%`). Above it DuckDB spills to a temporary folder beside the warehouse file
    instead of growing: a big backfill gets slower, not killed. Default `4GB`."""
    return _memory_limit("VIGIL_DUCKDB_MEMORY_LIMIT", "4GB")


def _memory_limit(variable: str, default: str) -> str:
    """A DuckDB `memory_limit` from the environment: `4GB`, `512MiB` or `50%`."""
    value = os.environ.get(variable, default).strip()
    if not _MEMORY_LIMIT.fullmatch(value):
        raise ValueError(f"{variable} must look like 4GB, 512MiB or 50%, got {value!r}")
    return value


def duckdb_threads() -> int:
    """Worker threads per DuckDB session (`VIGIL_DUCKDB_THREADS`); default: the machine's cores."""
    value = os.environ.get("VIGIL_DUCKDB_THREADS")
    threads = int(value) if value else (os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"VIGIL_DUCKDB_THREADS must be a positive integer, got {value!r}")
    return threads


DEFAULT_INGEST_SETTLE_SECONDS = 10.0
DEFAULT_INGEST_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_INGEST_MEMORY_LIMIT = "2GB"


def _number(variable: str, default: float, kind: type[int] | type[float]) -> float:
    raw = os.environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a {kind.__name__}, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{variable} must be >= 0, got {raw!r}")
    return value


DEFAULT_BACKFILL_DAYS_PER_RUN = 31


def backfill_days_per_run() -> int:
    """Days per run of a feature, scoring or sync backfill (`VIGIL_BACKFILL_DAYS_PER_RUN`, default
    31): each run reads the tiles of its days and the 89 before them once, so fewer, longer runs
    re-read less, while a shorter run bounds what one query holds (a feature run's memory grows
    with its days x active accounts; BENCHMARKS.md). Read when the definitions load."""
    days = int(_number("VIGIL_BACKFILL_DAYS_PER_RUN", DEFAULT_BACKFILL_DAYS_PER_RUN, int))
    if days < 1:
        raise ValueError(f"VIGIL_BACKFILL_DAYS_PER_RUN must be at least 1, got {days}")
    return days


def ingest_settle_seconds() -> float:
    """A landing file modified less than this long ago is still being written: wait or defer it."""
    return float(_number("VIGIL_INGEST_SETTLE_SECONDS", DEFAULT_INGEST_SETTLE_SECONDS, float))


def ingest_max_file_bytes() -> int:
    """Landing files larger than this are rejected unread (split them into smaller batches)."""
    return int(_number("VIGIL_INGEST_MAX_FILE_BYTES", DEFAULT_INGEST_MAX_FILE_BYTES, int))


def ingest_memory_limit() -> str:
    """DuckDB memory_limit of the scratch database that validates landing files (e.g. `2GB`)."""
    return _memory_limit("VIGIL_INGEST_MEMORY_LIMIT", DEFAULT_INGEST_MEMORY_LIMIT)
