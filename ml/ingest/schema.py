"""DDL for the tables ingestion writes: typed raw tables, the file ledger and the quarantine."""

from __future__ import annotations

from ml.contract import TABLES
from ml.warehouse import WarehouseSession, create_table_sql

RAW_SCHEMA = "raw"
INGEST_SCHEMA = "ingest"
LEDGER_TABLE = "file_ledger"
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


def ensure_ingest_tables(session: WarehouseSession) -> None:
    """Create the raw, ledger and quarantine tables if they do not exist (never drops)."""
    dialect = session.dialect
    for schema in (RAW_SCHEMA, INGEST_SCHEMA):
        session.execute(f"create schema if not exists {schema}")
    for table in TABLES.values():
        columns = tuple((c.name, c.type) for c in table.columns) + RAW_LINEAGE
        session.execute(create_table_sql(RAW_SCHEMA, table.name, columns, dialect))
    session.execute(create_table_sql(INGEST_SCHEMA, LEDGER_TABLE, LEDGER_COLUMNS, dialect))
    session.execute(create_table_sql(INGEST_SCHEMA, QUARANTINE_TABLE, QUARANTINE_COLUMNS, dialect))
