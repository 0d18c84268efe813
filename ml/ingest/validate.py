"""Validate one landing batch file against the contract.

The file is parsed by `ml.ingest.read` (literally, columns renamed `in_<position>`), then typed
and checked in a scratch DuckDB (vectorised; `try_cast` turns a bad value into a reason). Every
row ends up in exactly one of two outputs: `valid` (typed like the contract) or `quarantined`
(the original values as JSON plus every reason the row broke the contract). The split is
proven, not assumed: valid + quarantined must be every row the parser read, each exactly once.

Names: contract columns are found in the file by name, case-insensitively (Snowflake unloads
write upper-case headers); a file with two columns of the same name (after case folding) is
rejected. The SQL below only ever names columns this module generated (`in_<k>`, `row_no`,
`s_<i>`, `v_<i>`, `reasons`, `record_json`): an input column cannot shadow any of them.

Timestamps: values with a UTC offset (`+02:00`, `Z`) or a zone name are converted to UTC;
values without one are UTC already (contract). Typed Parquet `timestamp with time zone`
columns are converted too. A timestamp outside 0001-01-01 .. 9999-12-31 (or infinite) is
unparseable: no engine downstream holds it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml.contract import Column, Table
from ml.ingest.read import ROW_NUMBER, InputFile, UnreadableFileError, input_column, open_input

__all__ = ["RowAccountingError", "UnreadableFileError", "ValidatedBatch", "scratch_connection", "validate_file"]

# DuckDB's note that Arrow from an executed statement copies the rows (see validate_file).
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning, __name__)
# A row whose event happened after it was loaded is malformed; allow loader clock skew.
CLOCK_SKEW = "interval 1 hour"
_DUCK_TYPES = {"string": "varchar", "timestamp": "timestamp", "boolean": "boolean", "amount": "decimal(12, 2)"}
_ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "amount": pa.decimal128(12, 2),
}
_TIMESTAMP_RANGE = "timestamp '0001-01-01' and timestamp '9999-12-31 23:59:59.999999'"
_MAX_LISTED_EXTRAS = 20
QUARANTINE_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("reason", pa.string()),
        ("record_json", pa.string()),
    ]
)


class RowAccountingError(UnreadableFileError):
    """Valid + quarantined rows are not exactly the rows read: the file must not be loaded."""


@dataclass(frozen=True)
class ValidatedBatch:
    valid: pa.Table  # contract columns + _source_file, _source_row
    quarantined: pa.Table  # QUARANTINE_SCHEMA
    rows_in_file: int
    missing_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]

    @property
    def note(self) -> str | None:
        """What the ledger says about a loaded file beyond its counts."""
        if not self.extra_columns:
            return None
        listed = ", ".join(self.extra_columns[:_MAX_LISTED_EXTRAS])
        more = len(self.extra_columns) - _MAX_LISTED_EXTRAS
        return f"ignored extra column(s): {listed}" + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class ColumnMatch:
    positions: dict[str, int]  # contract column -> input position
    missing: tuple[str, ...]
    extra: tuple[str, ...]


def match_columns(table: Table, names: tuple[str, ...]) -> ColumnMatch:
    """Find the contract's columns among a file's column names, ignoring case."""
    folded = [n.casefold() for n in names]
    duplicates = sorted(n for n, k in Counter(folded).items() if k > 1)
    if duplicates:
        raise UnreadableFileError(
            "duplicate column name(s) (compared case-insensitively): " + ", ".join(repr(d)[1:-1] for d in duplicates)
        )
    position = {name: i for i, name in enumerate(folded)}
    expected = {c.casefold() for c in table.column_names}
    return ColumnMatch(
        positions={c: position[c.casefold()] for c in table.column_names if c.casefold() in position},
        missing=tuple(c for c in table.column_names if c.casefold() not in position),
        extra=tuple(n for n, f in zip(names, folded, strict=True) if f not in expected),
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parse_sql(col: Column, source: str, source_type: pa.DataType) -> str:
    """SQL typing one input column like the contract (before the timestamp range check).

    A typed Parquet column already holding the contract's type is used as it is; anything
    else is parsed from its text with try_cast, so a bad value becomes null (and a reason)."""
    text = f"nullif(trim(cast({source} as varchar)), '')"
    if col.type == "string":
        return text
    if col.type == "timestamp":
        if pa.types.is_timestamp(source_type):
            if source_type.tz is not None:
                return f"timezone('UTC', {source})"
            return source if source_type.unit == "us" else f"cast({source} as timestamp)"
        return f"timezone('UTC', try_cast({text} as timestamptz))"
    if col.type == "boolean" and pa.types.is_boolean(source_type):
        return source
    if col.type == "amount" and source_type == pa.decimal128(12, 2):
        return source
    return f"try_cast({text} as {_DUCK_TYPES[col.type]})"


def _reason_sqls(table: Table, now: datetime, missing: tuple[str, ...]) -> list[str]:
    """SQL expressions yielding a reason (or null) per contract rule, over `s_<i>`/`v_<i>`."""
    index = {c.name: i for i, c in enumerate(table.columns)}
    loaded = f"v_{index['_loaded_at']}"
    reasons = []
    for i, col in enumerate(table.columns):
        text, typed = f"s_{i}", f"v_{i}"
        if not col.nullable:
            reasons.append(f"case when {text} is null then {_literal('null ' + col.name)} end")
        if col.type != "string":
            unparseable = _literal(f"unparseable {col.name}: ")
            reasons.append(
                f"case when {text} is not null and {typed} is null then {unparseable} || left({text}, 40) end"
            )
        if col.allowed:
            allowed = ", ".join(_literal(v) for v in col.allowed)
            unknown = _literal(f"unknown {col.name}: ")
            reasons.append(f"case when {typed} not in ({allowed}) then {unknown} || left({typed}, 40) end")
        if col.type == "amount":
            reasons.append(f"case when {typed} < 0 then {_literal('negative ' + col.name)} end")
        if col.type == "timestamp" and col.name != "_loaded_at":
            after = _literal(f"{col.name} after _loaded_at")
            reasons.append(f"case when {typed} > {loaded} + {CLOCK_SKEW} then {after} end")
    now_sql = f"timestamp {_literal(now.isoformat(sep=' '))}"
    reasons.append(f"case when {loaded} > {now_sql} + {CLOCK_SKEW} then '_loaded_at in the future' end")
    if missing:
        reasons.append(_literal("missing column(s): " + ", ".join(missing)))
    return reasons


def _checked_sql(table: Table, data: InputFile, match: ColumnMatch, now: datetime) -> str:
    """One pass over the input: typed values, reasons, and the original record of bad rows."""
    inputs = [input_column(k) for k in range(len(data.names))]
    parsed, typed = [], []
    for i, col in enumerate(table.columns):
        k = match.positions.get(col.name)
        duck_type = _DUCK_TYPES[col.type]
        if k is None:
            parsed += [f"cast(null as varchar) as s_{i}", f"cast(null as {duck_type}) as p_{i}"]
        else:
            source = input_column(k)
            parsed += [
                f"nullif(trim(cast({source} as varchar)), '') as s_{i}",
                f"{_parse_sql(col, source, data.types[k])} as p_{i}",
            ]
        value = f"case when p_{i} between {_TIMESTAMP_RANGE} then p_{i} end" if col.type == "timestamp" else f"p_{i}"
        typed += [f"s_{i}", f"{value} as v_{i}"]
    values = [f"v_{i}" for i in range(len(table.columns))]
    # The JSON keys are the file's own names, bound as parameters (see validate_file).
    record = "json_object(" + ", ".join(f"?, {c}" for c in inputs) + ")" if inputs else "'{}'"
    carried = ", ".join([ROW_NUMBER, *inputs])
    return f"""
        with parsed as (
            select {carried}, {", ".join(parsed)} from vigil_input
        ),
        typed as (
            select {carried}, {", ".join(typed)} from parsed
        ),
        reasoned as (
            select {carried}, {", ".join(values)},
                concat_ws('; ', {", ".join(_reason_sqls(table, now, match.missing))}) as reasons
            from typed
        )
        select {ROW_NUMBER}, {", ".join(values)}, reasons,
            case when reasons <> '' then {record} end as record_json
        from reasoned
        order by {ROW_NUMBER}
        """


def _check_accounting(rows_read: int, counted: int, valid: pa.Table, quarantined: pa.Table) -> None:
    """Every row read is in exactly one output, once: the identity a loaded file must meet."""
    if not rows_read == counted == valid.num_rows + quarantined.num_rows:
        raise RowAccountingError(
            f"row accounting failed: {rows_read} rows read, {counted} checked, "
            f"{valid.num_rows} valid + {quarantined.num_rows} quarantined"
        )
    numbers = np.concatenate(
        [valid.column("_source_row").to_numpy(), quarantined.column("source_row").to_numpy()]
    ).astype(np.int64)
    if not np.array_equal(np.sort(numbers), np.arange(1, rows_read + 1, dtype=np.int64)):
        raise RowAccountingError("row accounting failed: the valid and quarantined rows are not each row once")


def scratch_connection(
    memory_limit: str | None = None, temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for validation, capped at `memory_limit` (spilling to
    `temp_directory`). Opening one costs more than checking a small file, so callers
    validating many files should open it once and pass it to `validate_file`."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"set memory_limit = {_literal(memory_limit)}")
    if temp_directory:
        con.execute(f"set temp_directory = {_literal(str(temp_directory))}")
    return con


def validate_file(
    path: Path,
    table: Table,
    source_file: str,
    now: datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ValidatedBatch:
    """Split one landing file into typed valid rows and quarantined rows with reasons.

    `now` bounds `_loaded_at`: a row cannot have been loaded in the future. Raises
    UnreadableFileError (or RowAccountingError) when the file must be rejected whole.
    """
    owned = con is None
    con = scratch_connection() if con is None else con
    try:
        with open_input(path) as data:
            match = match_columns(table, data.names)
            con.register("vigil_input", data.reader())
            try:
                # One statement, its result split here: a statement costs more than a small
                # file's rows (a temporary table and three reads of it: 12-13 ms a file of the
                # live bench against 8-9). Not `con.sql`: its relation binds the wide statement
                # twice (11-14 ms); the copy DuckDB warns of is of one file's rows (size-capped).
                checked = con.execute(_checked_sql(table, data, match, now), list(data.names)).to_arrow_table()
            finally:
                con.unregister("vigil_input")
            rows_read = data.rows_read
    except (duckdb.Error, UnreadableFileError) as exc:
        raise UnreadableFileError(f"cannot read {source_file}: {exc}") from exc
    finally:
        if owned:
            con.close()

    is_valid = pc.equal(checked.column("reasons"), "")
    valid = _typed_valid(checked.filter(is_valid), table, source_file)
    quarantined = _typed_quarantine(checked.filter(pc.invert(is_valid)), table, source_file)
    _check_accounting(rows_read, checked.num_rows, valid, quarantined)
    return ValidatedBatch(valid, quarantined, rows_read, match.missing, match.extra)


def _typed_valid(checked: pa.Table, table: Table, source_file: str) -> pa.Table:
    n = checked.num_rows
    columns = [checked.column(f"v_{i}").cast(_ARROW_TYPES[c.type]) for i, c in enumerate(table.columns)]
    columns += [pa.array([source_file] * n, pa.string()), checked.column(ROW_NUMBER).cast(pa.int64())]
    return pa.Table.from_arrays(columns, names=[*table.column_names, "_source_file", "_source_row"])


def _typed_quarantine(checked: pa.Table, table: Table, source_file: str) -> pa.Table:
    n = checked.num_rows
    return pa.Table.from_arrays(
        [
            pa.array([table.name] * n, pa.string()),
            pa.array([source_file] * n, pa.string()),
            checked.column(ROW_NUMBER).cast(pa.int64()),
            checked.column("reasons").cast(pa.string()),
            checked.column("record_json").cast(pa.string()),
        ],
        schema=QUARANTINE_SCHEMA,
    )
