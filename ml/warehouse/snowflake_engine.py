"""Production: Snowflake through snowflake-connector-python. Credentials only from the env."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ml.warehouse.base import Role, iter_batches

log = logging.getLogger(__name__)

# Env var -> connector keyword. Host/port/protocol exist so tests can point the connector at a
# local emulator; production leaves them unset.
_OPTIONAL_ENV = {
    "SNOWFLAKE_WAREHOUSE": "warehouse",
    "SNOWFLAKE_HOST": "host",
    "SNOWFLAKE_PORT": "port",
    "SNOWFLAKE_PROTOCOL": "protocol",
}
# Secrets carry dbt's DBT_ENV_SECRET_ prefix, so dbt (which reads the same variables in
# dbt_project/profiles.yml) scrubs their values from its logs; Vigil's Python reads the very
# same names. The old unprefixed names are refused rather than silently ignored.
PASSWORD_ENV = "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"
PRIVATE_KEY_PATH_ENV = "SNOWFLAKE_PRIVATE_KEY_PATH"
PRIVATE_KEY_PASSPHRASE_ENV = "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
_RENAMED_ENV = {"SNOWFLAKE_PASSWORD": PASSWORD_ENV, "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PRIVATE_KEY_PASSPHRASE_ENV}
FALLBACK_ROLE_ENV = "SNOWFLAKE_ROLE"


def role_env(role: Role) -> str:
    """The variable naming the Snowflake role one component uses, e.g. SNOWFLAKE_SCORER_ROLE."""
    return f"SNOWFLAKE_{role.value.upper()}_ROLE"


def connection_kwargs_from_env(role: Role, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Connector arguments for one component (`role`): key-pair or password authentication,
    and always an explicit role (never the user's default), from the environment.

    Error messages name variables, never their values.
    """
    env = os.environ if env is None else env
    renamed = [f"{old} (now {new})" for old, new in _RENAMED_ENV.items() if env.get(old)]
    if renamed:
        raise RuntimeError(f"rename {', '.join(renamed)}: dbt scrubs only DBT_ENV_SECRET_* values from its logs")
    required = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_DATABASE")
    missing = [k for k in required if not env.get(k)]
    if missing:
        raise RuntimeError(f"VIGIL_WAREHOUSE=snowflake needs {', '.join(missing)} in the environment")
    snowflake_role = env.get(role_env(role)) or env.get(FALLBACK_ROLE_ENV)
    if not snowflake_role:
        raise RuntimeError(
            f"set {role_env(role)} (or {FALLBACK_ROLE_ENV}):"
            f" Vigil's {role.value} never connects with the user's default role"
        )
    kwargs: dict[str, Any] = {
        "account": env["SNOWFLAKE_ACCOUNT"],
        "user": env["SNOWFLAKE_USER"],
        "database": env["SNOWFLAKE_DATABASE"],
        "role": snowflake_role,
    }
    if env.get(PRIVATE_KEY_PATH_ENV):
        kwargs["private_key_file"] = env[PRIVATE_KEY_PATH_ENV]
        if env.get(PRIVATE_KEY_PASSPHRASE_ENV):
            kwargs["private_key_file_pwd"] = env[PRIVATE_KEY_PASSPHRASE_ENV]
    elif env.get(PASSWORD_ENV):
        kwargs["password"] = env[PASSWORD_ENV]
    else:
        raise RuntimeError(f"set {PRIVATE_KEY_PATH_ENV} (key-pair, preferred) or {PASSWORD_ENV} for Snowflake")
    for var, key in _OPTIONAL_ENV.items():
        if env.get(var):
            kwargs[key] = int(env[var]) if key == "port" else env[var]
    return kwargs


# Bulk loads go through files, never row-by-row inserts. Each file holds at most this many rows
# (tens of MB of compressed Parquet, within Snowflake's recommended 100-250 MB per file).
MAX_ROWS_PER_FILE = 500_000
# Parquet, not CSV: it keeps NULL apart from '', microseconds, exact decimals and any text
# (commas, quotes, newlines, JSON) without a quoting dialect to get right. The COPY has the
# shape write_pandas uses on Snowflake (`$1:"column"` per target column, logical types on).
# CSV would also not work on the emulator: fakesnow maps a CSV file's fields to `column0..N`,
# which DuckDB names `column00..` once a file has 10 or more columns.
_PARQUET_FORMAT = "file_format = (type = parquet use_logical_type = true)"

# Snowflake column type (connector type name) -> Arrow type, for typed empty results.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "REAL": pa.float64(),
    "TEXT": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMP_NTZ": pa.timestamp("us"),
    "TIMESTAMP_LTZ": pa.timestamp("us", tz="UTC"),
    "TIMESTAMP_TZ": pa.timestamp("us", tz="UTC"),
    "TIME": pa.time64("us"),
    "BOOLEAN": pa.bool_(),
    "BINARY": pa.binary(),
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_parquet(data: pa.Table, path: Path) -> None:
    """Write rows with the types Snowflake should load: naive UTC timestamps, no null type."""
    columns = []
    for values in data.columns:
        kind = values.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            values = values.cast(pa.timestamp(kind.unit))  # TIMESTAMP_NTZ holds UTC wall time
        elif pa.types.is_null(kind):
            values = values.cast(pa.string())  # an all-null column; Parquet has no null type
        columns.append(values)
    pq.write_table(pa.Table.from_arrays(columns, names=data.column_names), path)


def _empty_result(description: Sequence[Any]) -> pa.Table:
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    fields = []
    for d in description:
        kind = FIELD_ID_TO_NAME.get(d.type_code, "TEXT")
        if kind == "FIXED":
            arrow_type = pa.decimal128(d.precision or 38, d.scale) if d.scale else pa.int64()
        else:
            arrow_type = _ARROW_TYPES.get(kind, pa.string())  # VARIANT, OBJECT, ARRAY: JSON text
        fields.append(pa.field(d.name.lower(), arrow_type))
    return pa.schema(fields).empty_table()


class SnowflakeSession:
    dialect = "snowflake"

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._con.cursor() as cur:
            cur.execute(sql, params)

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Rows as Arrow with lower-case column names; typed columns even when empty."""
        from snowflake.connector.errors import NotSupportedError

        with self._con.cursor() as cur:
            cur.execute(sql, params)
            if not cur.description:
                return pa.table({})
            names = [d.name.lower() for d in cur.description]
            try:
                table = cur.fetch_arrow_all(force_return_table=True, force_microsecond_precision=True)
            except NotSupportedError:  # a JSON result set (e.g. some SHOW commands)
                rows = cur.fetchall()
                table = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
            if table.num_rows == 0:
                # The connector types empty results loosely (every NUMBER as int64, dates as
                # date64): build the schema from the column metadata instead.
                return _empty_result(cur.description)
        return table.rename_columns(names)

    def append_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        """Bulk-load rows through the table's stage: Parquet files, PUT, then one COPY INTO.

        The table stage (`@schema.%table`) exists for every table, so loading needs no DDL: a
        CREATE STAGE inside `transaction()` would commit the open transaction on Snowflake (and
        fakesnow refuses it). The COPY is DML, so it commits or rolls back with the transaction;
        loaded files are purged from the stage. Every call uses a fresh stage path, so Snowflake's
        load history never skips a file as already loaded. Raises if the COPY loads a different
        number of rows than `data` holds. A failed COPY leaves its files in the stage under
        their unused path (`remove @schema.%table/vigil/` clears them).
        """
        if data.num_rows == 0:
            return
        location = f"@{schema}.%{table}/vigil/{uuid.uuid4().hex}/"
        # Unquoted identifiers are stored upper case by Snowflake; quote them as stored.
        target = ", ".join(_quote(c.upper()) for c in data.column_names)
        source = ", ".join(f"$1:{_quote(c)}" for c in data.column_names)
        with TemporaryDirectory(prefix="vigil_load_") as tmp, self._con.cursor() as cur:
            for i, part in enumerate(iter_batches(data, MAX_ROWS_PER_FILE)):
                path = Path(tmp) / f"part_{i:05d}.parquet"
                _write_parquet(part, path)
                # Parquet is compressed already: no gzip on top.
                cur.execute(f"put '{path.as_uri()}' {location} auto_compress = false")
            cur.execute(
                f"copy into {schema}.{table} ({target}) from (select {source} from {location}) "
                f"{_PARQUET_FORMAT} purge = true"
            )
            names = [d.name.lower() for d in cur.description]
            results = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        loaded = sum(int(r.get("rows_loaded") or 0) for r in results)
        if loaded != data.num_rows:
            raise RuntimeError(f"COPY INTO {schema}.{table} loaded {loaded} of {data.num_rows} rows: {results}")
        log.debug("loaded %d rows into %s.%s", loaded, schema, table)

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
    """Sessions as one Vigil component (`role`), with credentials from the environment, or
    with explicit `connection_kwargs` (tests against the emulator)."""

    role: Role | None = None
    connection_kwargs: dict[str, Any] = field(default_factory=dict)
    dialect: str = "snowflake"

    @contextmanager
    def session(self) -> Iterator[SnowflakeSession]:
        import snowflake.connector

        if self.connection_kwargs:
            kwargs = self.connection_kwargs
        elif self.role is None:
            raise RuntimeError("SnowflakeWarehouse needs the role of the component that connects")
        else:
            kwargs = connection_kwargs_from_env(self.role)
        # Vigil's SQL binds parameters as `?` (as DuckDB does): server-side binding.
        con = snowflake.connector.connect(**{"paramstyle": "qmark", **kwargs})
        try:
            yield SnowflakeSession(con)
        finally:
            con.close()
