"""DDL for the tables ingestion writes: typed raw tables, the file ledger, attempts, quarantine.

Schema names are arguments (from `IngestOptions`, i.e. VIGIL_RAW_SCHEMA / VIGIL_INGEST_SCHEMA,
the variables dbt's sources read), never module constants.
"""

from __future__ import annotations

from ml.contract import TABLES
from ml.warehouse import WarehouseSession, create_table_sql, ensure_schema, sql_type

LEDGER_TABLE = "file_ledger"
ATTEMPTS_TABLE = "file_attempts"
QUARANTINE_TABLE = "quarantine"

# Lineage columns every raw row carries on top of the contract's.
RAW_LINEAGE = (("_source_file", "string"), ("_source_row", "integer"), ("_ingested_at", "timestamp"))

LEDGER_COLUMNS = (
    ("file_path", "string"),
    ("table_name", "string"),
    ("file_bytes", "integer"),
    ("status", "string"),  # started | loaded | rejected
    ("rows_in_file", "integer"),
    ("rows_loaded", "integer"),
    ("rows_quarantined", "integer"),
    ("reason", "string"),
    ("ingested_at", "timestamp"),
    ("run_id", "string"),
    ("file_sha256", "string"),  # null only for files rejected unread (over the size cap)
    ("file_modified_at", "timestamp"),  # mtime (UTC) when read
)
# Columns added after the first release: created on ledgers that predate them.
_LEDGER_ADDED = LEDGER_COLUMNS[-2:]

# One row per attempt to validate and load a file, committed before the file is read, so an
# attempt that killed the process (out of memory, say) is still on record afterwards.
ATTEMPT_COLUMNS = (
    ("file_path", "string"),
    ("file_sha256", "string"),
    ("run_id", "string"),
    ("started_at", "timestamp"),
    ("outcome", "string"),  # null while running (or if the process died) | loaded | rejected | died
)

QUARANTINE_COLUMNS = (
    ("table_name", "string"),
    ("source_file", "string"),
    ("source_row", "integer"),
    ("reason", "string"),
    ("record_json", "string"),
    ("quarantined_at", "timestamp"),
    ("run_id", "string"),
)


def ensure_ingest_tables(session: WarehouseSession, raw_schema: str, ingest_schema: str) -> None:
    """Create the raw, ledger, attempt and quarantine tables if missing (never drops)."""
    dialect = session.dialect
    for schema in (raw_schema, ingest_schema):
        ensure_schema(session, schema)
    for table in TABLES.values():
        columns = tuple((c.name, c.type) for c in table.columns) + RAW_LINEAGE
        session.execute(create_table_sql(raw_schema, table.name, columns, dialect))
    session.execute(create_table_sql(ingest_schema, LEDGER_TABLE, LEDGER_COLUMNS, dialect))
    existing = {
        r["column_name"].lower()
        for r in session.fetch_arrow(
            "select column_name from information_schema.columns where lower(table_schema) = lower(?) "
            "and lower(table_name) = ?",
            [ingest_schema, LEDGER_TABLE],
        ).to_pylist()
    }
    for name, kind in _LEDGER_ADDED:
        if name not in existing:
            session.execute(f"alter table {ingest_schema}.{LEDGER_TABLE} add column {name} {sql_type(kind, dialect)}")
    session.execute(create_table_sql(ingest_schema, ATTEMPTS_TABLE, ATTEMPT_COLUMNS, dialect))
    session.execute(create_table_sql(ingest_schema, QUARANTINE_TABLE, QUARANTINE_COLUMNS, dialect))
