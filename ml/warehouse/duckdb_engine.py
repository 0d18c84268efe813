"""The embedded default: one DuckDB file, written by one process at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ml import settings


class DuckDBSession:
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._con.execute(sql, params)

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self._con.sql(sql, params=params).to_arrow_table()

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        self._con.register("_vigil_append", data)
        try:
            columns = ", ".join(f'"{name}"' for name in data.column_names)
            self._con.execute(f"insert into {schema}.{table} ({columns}) select {columns} from _vigil_append")
        finally:
            self._con.unregister("_vigil_append")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self._con.execute("rollback")
            raise
        self._con.execute("commit")


@dataclass(frozen=True)
class DuckDBWarehouse:
    path: Path
    read_only: bool = False
    dialect: str = "duckdb"

    @contextmanager
    def session(self) -> Iterator[DuckDBSession]:
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path), read_only=self.read_only)
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute(
                f"set memory_limit = '{settings.duckdb_memory_limit()}'; set threads = {settings.duckdb_threads()}"
            )
            yield DuckDBSession(con)
        finally:
            con.close()
