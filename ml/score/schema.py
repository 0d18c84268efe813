"""DDL for what scoring writes: the `risk` schema's scores, sync table and decision history."""

from __future__ import annotations

from ml.warehouse import WarehouseSession, create_table_sql

RISK_SCHEMA = "risk"
SCORES_TABLE = "account_risk_scores"
SYNC_TABLE = "enforcement_sync"
DECISIONS_TABLE = "enforcement_decisions"
SYNC_RUNS_TABLE = "enforcement_sync_runs"
REASON_SLOTS = 3

REASON_COLUMNS = tuple(
    column
    for slot in range(1, REASON_SLOTS + 1)
    for column in ((f"reason_code_{slot}", "string"), (f"reason_text_{slot}", "string"))
)
MODEL_COLUMNS = (("model_name", "string"), ("model_version", "string"))

# One row per account and as-of day; a partition (day) is replaced whole on re-run.
SCORES_COLUMNS = (
    ("account_id", "string"),
    ("as_of_date", "date"),
    ("score", "float"),
    ("band", "string"),
    *REASON_COLUMNS,
    *MODEL_COLUMNS,
    ("feature_version", "string"),
    ("scored_at", "timestamp"),
    ("run_id", "string"),
)

# One current row per account; a row changes only when its decision does (see ml/score/sync.py).
SYNC_COLUMNS = (
    ("sync_key", "string"),
    ("account_id", "string"),
    ("decision", "string"),
    ("band", "string"),
    ("score", "float"),
    *REASON_COLUMNS,
    *MODEL_COLUMNS,
    ("effective_from", "date"),
    ("updated_at", "timestamp"),
    ("is_tombstone", "boolean"),
)

# Append-only: every decision change, with the decision it replaced.
DECISIONS_COLUMNS = (
    ("account_id", "string"),
    ("as_of_date", "date"),
    ("decision", "string"),
    ("previous_decision", "string"),
    ("band", "string"),
    ("score", "float"),
    *REASON_COLUMNS,
    *MODEL_COLUMNS,
    ("decided_at", "timestamp"),
    ("run_id", "string"),
)

# One row per applied as-of day: the sync's watermark and its audit.
SYNC_RUNS_COLUMNS = (
    ("as_of_date", "date"),
    ("applied_at", "timestamp"),
    ("accounts_scored", "integer"),
    ("changed", "integer"),
    ("tombstoned", "integer"),
    ("run_id", "string"),
)

TABLE_COLUMNS = {
    SCORES_TABLE: SCORES_COLUMNS,
    SYNC_TABLE: SYNC_COLUMNS,
    DECISIONS_TABLE: DECISIONS_COLUMNS,
    SYNC_RUNS_TABLE: SYNC_RUNS_COLUMNS,
}


def ensure_risk_tables(session: WarehouseSession) -> None:
    """Create the risk schema and its tables if they do not exist (never drops)."""
    session.execute(f"create schema if not exists {RISK_SCHEMA}")
    for table, columns in TABLE_COLUMNS.items():
        session.execute(create_table_sql(RISK_SCHEMA, table, columns, session.dialect))
