"""Validate one landing batch file against the contract.

A file is read and checked in an in-memory DuckDB (fast, vectorised, and it parses CSV text
and typed Parquet alike with `try_cast`). Every row ends up in exactly one of two outputs:
`valid` (typed like the contract) or `quarantined` (the original values as JSON plus every
reason the row broke the contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ml.contract import Column, Table

# A row whose event happened after it was loaded is malformed; allow loader clock skew.
CLOCK_SKEW = "interval 1 hour"
_DUCK_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "amount": "decimal(12, 2)",
}
QUARANTINE_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("reason", pa.string()),
        ("record_json", pa.string()),
    ]
)


class UnreadableFileError(ValueError):
    """The file cannot be read as a table at all (corrupt, wrong format, no header)."""


@dataclass(frozen=True)
class ValidatedBatch:
    valid: pa.Table  # contract columns + _source_file, _source_row
    quarantined: pa.Table  # QUARANTINE_SCHEMA
    rows_in_file: int
    missing_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reader_sql(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({_literal(str(path))}, file_row_number = true)"
    if suffix == ".csv":
        # Text only: typing happens below with try_cast so a bad value is caught, not guessed.
        return f"read_csv({_literal(str(path))}, header = true, all_varchar = true)"
    raise UnreadableFileError(f"unsupported file type {suffix!r} (expected .parquet or .csv)")


def _column_exprs(col: Column, source_type: str | None) -> tuple[str, str]:
    """(text, typed) SQL for one contract column.

    A column already stored with the contract's type (typed Parquet) is used as it is; anything
    else (CSV text, other Parquet types) is parsed with try_cast so a bad value becomes a reason.
    """
    name = _quote(col.name)
    target = _DUCK_TYPES[col.type]
    text = f"nullif(trim(cast({name} as varchar)), '')"
    if source_type is not None and source_type.lower() == target.replace(" ", ""):
        return text, (text if col.type == "string" else name)
    return text, (text if col.type == "string" else f"try_cast({text} as {target})")


def _reason_exprs(col: Column) -> list[str]:
    """SQL expressions yielding a reason string (or null) for one column of `typed`."""
    text, typed = f"x_{col.name}", f"t_{col.name}"
    reasons = []
    if not col.nullable:
        reasons.append(f"case when {text} is null then 'null {col.name}' end")
    if col.type != "string":
        reasons.append(
            f"case when {text} is not null and {typed} is null then 'unparseable {col.name}: ' || left({text}, 40) end"
        )
    if col.allowed:
        allowed = ", ".join(_literal(v) for v in col.allowed)
        reasons.append(f"case when {typed} not in ({allowed}) then 'unknown {col.name}: ' || left({typed}, 40) end")
    if col.type == "amount":
        reasons.append(f"case when {typed} < 0 then 'negative {col.name}' end")
    if col.type == "timestamp" and col.name != "_loaded_at":
        reasons.append(f"case when {typed} > t__loaded_at + {CLOCK_SKEW} then '{col.name} after _loaded_at' end")
    return reasons


def scratch_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for validation. Opening one costs more than checking a small file,
    so callers validating many files should open it once and pass it to `validate_file`."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def validate_file(
    path: Path,
    table: Table,
    source_file: str,
    now: datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ValidatedBatch:
    """Split one landing file into typed valid rows and quarantined rows with reasons.

    `now` bounds `_loaded_at`: a row cannot have been loaded in the future.
    """
    owned = con is None
    con = scratch_connection() if con is None else con
    try:
        con.execute("drop table if exists checked")
        try:
            reader = _reader_sql(path)
            described = con.sql(f"select * from {reader} limit 0")
            source_types = {
                name: str(dtype)
                for name, dtype in zip(described.columns, described.types, strict=True)
                if name != "file_row_number"
            }
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot read {source_file}: {exc}") from exc

        expected = table.column_names
        present = list(source_types)
        missing = tuple(c for c in expected if c not in source_types)
        extra = tuple(c for c in present if c not in expected)
        row_number = "file_row_number + 1" if path.suffix.lower() == ".parquet" else "row_number() over ()"
        star = "* exclude (file_row_number)" if path.suffix.lower() == ".parquet" else "*"
        source_cols = ", ".join([star] + [f"cast(null as varchar) as {_quote(c)}" for c in missing])
        exprs = {c.name: _column_exprs(c, source_types.get(c.name)) for c in table.columns}
        typed_cols = ", ".join(
            f"{text} as {_quote('x_' + name)}, {typed} as {_quote('t_' + name)}"
            for name, (text, typed) in exprs.items()
        )
        reasons = [r for c in table.columns for r in _reason_exprs(c)]
        reasons.append(
            f"case when t__loaded_at > {_literal(now.isoformat(sep=' '))}::timestamp + {CLOCK_SKEW} "
            "then '_loaded_at in the future' end"
        )
        if missing:
            reasons.append(_literal("missing column(s): " + ", ".join(missing)))
        record = "to_json(struct_pack(" + ", ".join(f"{_quote(c)} := {_quote(c)}" for c in present) + "))"
        con.execute(
            f"""
            create temp table checked as
            with source as (
                select {row_number} as _source_row, {source_cols} from {reader}
            ),
            typed as (select *, {typed_cols} from source)
            select *, concat_ws('; ', {", ".join(reasons)}) as _reason from typed
            """
        )
        valid = con.sql(
            "select "
            + ", ".join(f"{_quote('t_' + c.name)} as {_quote(c.name)}" for c in table.columns)
            + f", {_literal(source_file)} as _source_file, _source_row"
            + " from checked where _reason = '' order by _source_row"
        ).to_arrow_table()
        quarantined = con.sql(
            f"select {_literal(table.name)} as table_name, {_literal(source_file)} as source_file,"
            f" cast(_source_row as bigint) as source_row, _reason as reason, {record} as record_json"
            " from checked where _reason <> '' order by _source_row"
        ).to_arrow_table()
        rows = con.execute("select count(*) from checked").fetchone()[0]
    except duckdb.Error as exc:
        raise UnreadableFileError(f"cannot read {source_file}: {exc}") from exc
    finally:
        con.execute("drop table if exists checked")
        if owned:
            con.close()
    return ValidatedBatch(
        valid=valid,
        quarantined=quarantined.cast(QUARANTINE_SCHEMA),
        rows_in_file=rows,
        missing_columns=missing,
        extra_columns=extra,
    )
