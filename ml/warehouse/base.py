"""The small surface every warehouse engine offers to Vigil's Python code."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Any, Protocol

import pyarrow as pa

from ml.contract import ColumnType

_TYPES: dict[str, dict[str, str]] = {
    "duckdb": {
        "string": "varchar",
        "timestamp": "timestamp",
        "boolean": "boolean",
        "amount": "decimal(12, 2)",
        "integer": "bigint",
        "float": "double",
        "date": "date",
    },
    "snowflake": {
        "string": "varchar",
        "timestamp": "timestamp_ntz",
        "boolean": "boolean",
        "amount": "number(12, 2)",
        "integer": "number(38, 0)",
        "float": "float",
        "date": "date",
    },
}


class Role(StrEnum):
    """Which Vigil component opens a session; on Snowflake each uses its own least-privilege
    role (warehouse/snowflake/grants.sql; README, "Snowflake credentials, roles and targets").
    DuckDB has no roles."""

    LOADER = "loader"  # ingestion: writes raw and ingest
    TRANSFORMER = "transformer"  # dbt: reads raw, ingest and risk; builds reference, staging, intermediate, marts
    SCORER = "scorer"  # training and scoring: reads marts, writes risk
    REVERSE_ETL = "reverse_etl"  # the product's sync: reads risk.enforcement_sync only


def sql_type(column_type: ColumnType | str, dialect: str) -> str:
    """The column type to declare for a logical Vigil type on one engine."""
    return _TYPES[dialect][column_type]


def create_table_sql(schema: str, table: str, columns: Sequence[tuple[str, str]], dialect: str) -> str:
    """`create table if not exists` for (name, logical type) columns; never drops anything."""
    cols = ",\n    ".join(f"{name} {sql_type(kind, dialect)}" for name, kind in columns)
    return f"create table if not exists {schema}.{table} (\n    {cols}\n)"


def ensure_schema(session: WarehouseSession, schema: str) -> None:
    """Create `schema` only if it is missing. On Snowflake an administrator creates Vigil's
    production schemas (warehouse/snowflake/grants.sql) and a component's role may use one
    without the privilege to create schemas, which `create schema if not exists` would need."""
    found = session.fetch_arrow(
        "select count(*) as n from information_schema.schemata where upper(schema_name) = upper(?)", [schema]
    ).to_pylist()[0]["n"]
    if not found:
        session.execute(f"create schema if not exists {schema}")


class WarehouseSession(Protocol):
    """One open connection. Writes inside `transaction()` commit or roll back together."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        """Append rows whose column names match the target table's."""
        ...

    def transaction(self) -> AbstractContextManager[None]: ...


class Warehouse(Protocol):
    """A warehouse we can open sessions on; opening is lazy (never at import time)."""

    dialect: str

    def session(self) -> AbstractContextManager[WarehouseSession]: ...


def iter_batches(table: pa.Table, max_rows: int) -> Iterator[pa.Table]:
    """Slices of at most `max_rows` rows (zero-copy)."""
    for offset in range(0, table.num_rows, max_rows):
        yield table.slice(offset, max_rows)
