"""Production: Snowflake through snowflake-connector-python. Credentials only from the env."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# Env var -> connector keyword. Host/port/protocol exist so tests can point the connector at a
# local emulator; production leaves them unset.
_OPTIONAL_ENV = {
    "SNOWFLAKE_ROLE": "role",
    "SNOWFLAKE_WAREHOUSE": "warehouse",
    "SNOWFLAKE_HOST": "host",
    "SNOWFLAKE_PORT": "port",
    "SNOWFLAKE_PROTOCOL": "protocol",
}


def connection_kwargs_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Connector arguments from SNOWFLAKE_* variables: password or key-pair authentication."""
    env = os.environ if env is None else env
    missing = [k for k in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_DATABASE") if not env.get(k)]
    if missing:
        raise RuntimeError(f"VIGIL_WAREHOUSE=snowflake needs {', '.join(missing)} in the environment")
    kwargs: dict[str, Any] = {
        "account": env["SNOWFLAKE_ACCOUNT"],
        "user": env["SNOWFLAKE_USER"],
        "database": env["SNOWFLAKE_DATABASE"],
    }
    if env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        kwargs["private_key_file"] = env["SNOWFLAKE_PRIVATE_KEY_PATH"]
        if env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
            kwargs["private_key_file_pwd"] = env["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]
    elif env.get("SNOWFLAKE_PASSWORD"):
        kwargs["password"] = env["SNOWFLAKE_PASSWORD"]
    else:
        raise RuntimeError("set SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH for Snowflake")
    for var, key in _OPTIONAL_ENV.items():
        if env.get(var):
            kwargs[key] = int(env[var]) if key == "port" else env[var]
    return kwargs


class SnowflakeSession:
    dialect = "snowflake"

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._con.cursor() as cur:
            cur.execute(sql, params)

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._con.cursor() as cur:
            cur.execute(sql, params)
            names = [d[0].lower() for d in cur.description]
            rows = cur.fetchall()
        return pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows]) if rows else (
            pa.table({n: pa.array([], pa.null()) for n in names})
        )

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        """Bulk load through an internal stage (write_pandas), never row-by-row inserts."""
        if data.num_rows == 0:
            return
        from snowflake.connector.pandas_tools import write_pandas

        frame = data.to_pandas()
        frame.columns = [c.upper() for c in frame.columns]
        ok, _, nrows, _ = write_pandas(
            self._con,
            frame,
            table_name=table.upper(),
            schema=schema.upper(),
            auto_create_table=False,
            use_logical_type=True,
        )
        if not ok or nrows != data.num_rows:
            raise RuntimeError(f"write_pandas loaded {nrows} of {data.num_rows} rows into {schema}.{table}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin")
        try:
            yield
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")


@dataclass(frozen=True)
class SnowflakeWarehouse:
    connection_kwargs: dict[str, Any] = field(default_factory=dict)
    dialect: str = "snowflake"

    @contextmanager
    def session(self) -> Iterator[SnowflakeSession]:
        import snowflake.connector

        kwargs = self.connection_kwargs or connection_kwargs_from_env()
        con = snowflake.connector.connect(**kwargs)
        try:
            yield SnowflakeSession(con)
        finally:
            con.close()
