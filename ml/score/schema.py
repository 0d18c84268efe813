"""DDL for what scoring writes: the `risk` schema's scores, sync table and decision history, and
the publication gate's check results, overrides and day leases."""

from __future__ import annotations

from ml.warehouse import WarehouseSession, create_table_sql, sql_type

RISK_SCHEMA = "risk"
SCORES_TABLE = "account_risk_scores"
SYNC_TABLE = "enforcement_sync"
DECISIONS_TABLE = "enforcement_decisions"
SYNC_RUNS_TABLE = "enforcement_sync_runs"
CHECKS_TABLE = "publication_checks"
OVERRIDES_TABLE = "publication_overrides"
LEASES_TABLE = "day_leases"
LEASE_LOCK_TABLE = "day_lease_lock"
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
    # Why the decision changed: `model` (the band moved), `left the population`, `returned`, or
    # the human action that lifted a block (`reinstate <action_id> (<source>) at <time>`).
    ("change_reason", "string"),
)

# One row per applied as-of day: the sync's watermark and its audit.
SYNC_RUNS_COLUMNS = (
    ("as_of_date", "date"),
    ("applied_at", "timestamp"),
    ("accounts_scored", "integer"),
    ("changed", "integer"),
    ("tombstoned", "integer"),
    ("run_id", "string"),
    ("scores_run_id", "string"),  # the run that wrote (and checked) the scores applied
)

# One row per check per as-of day and scoring run: the publication gate's record. The sync
# applies a day only when the run that wrote its current scores has a complete set of passing
# results here (or an override below).
CHECKS_COLUMNS = (
    ("as_of_date", "date"),
    ("run_id", "string"),  # the scoring run whose scores were checked
    ("check_name", "string"),
    ("passed", "boolean"),
    ("severity", "string"),  # error (a failure blocks publication) | warn
    ("statistic", "float"),
    ("detail", "string"),
    ("checked_at", "timestamp"),
)

# One row per day published despite the gate: who, why, which checks it overrode.
OVERRIDES_COLUMNS = (
    ("as_of_date", "date"),
    ("scores_run_id", "string"),
    ("run_id", "string"),  # the run that published under the override
    ("overridden_by", "string"),
    ("reason", "string"),
    ("overridden_checks", "string"),
    ("created_at", "timestamp"),
)

# One row per as-of day being scored and synced: the run that owns the day's scores and sync.
LEASES_COLUMNS = (
    ("as_of_date", "date"),
    ("run_id", "string"),
    ("holder", "string"),  # host:pid of the process that took it
    ("acquired_at", "timestamp"),
)

# A single row every lease change updates first: concurrent lease changes serialise on it.
LEASE_LOCK_COLUMNS = (("name", "string"), ("changed_at", "timestamp"))

TABLE_COLUMNS = {
    SCORES_TABLE: SCORES_COLUMNS,
    SYNC_TABLE: SYNC_COLUMNS,
    DECISIONS_TABLE: DECISIONS_COLUMNS,
    SYNC_RUNS_TABLE: SYNC_RUNS_COLUMNS,
    CHECKS_TABLE: CHECKS_COLUMNS,
    OVERRIDES_TABLE: OVERRIDES_COLUMNS,
    LEASES_TABLE: LEASES_COLUMNS,
    LEASE_LOCK_TABLE: LEASE_LOCK_COLUMNS,
}


def ensure_risk_tables(session: WarehouseSession) -> None:
    """Create the risk schema and its tables if they do not exist, and add columns a newer
    version declares to tables an older one created (never drops anything)."""
    session.execute(f"create schema if not exists {RISK_SCHEMA}")
    for table, columns in TABLE_COLUMNS.items():
        session.execute(create_table_sql(RISK_SCHEMA, table, columns, session.dialect))
        existing = session.fetch_arrow(
            "select column_name from information_schema.columns"
            " where lower(table_schema) = ? and lower(table_name) = ?",
            [RISK_SCHEMA, table],
        ).column("column_name")
        names = {str(name).lower() for name in existing.to_pylist()}
        for name, kind in columns:
            if name not in names:
                kind_sql = sql_type(kind, session.dialect)
                session.execute(f"alter table {RISK_SCHEMA}.{table} add column {name} {kind_sql}")
