"""DDL for what scoring writes: the `risk` schema's scores, sync table and decision history, and
the publication gate's check results, overrides and day leases."""

from __future__ import annotations

from ml import settings
from ml.warehouse import WarehouseSession, create_table_sql, ensure_schema, sql_type

RISK_SCHEMA = "risk"  # the logical name (asset keys, dbt source); risk_schema() is where it lives
SCORES_TABLE = "account_risk_scores"
SYNC_TABLE = "enforcement_sync"
DECISIONS_TABLE = "enforcement_decisions"
SYNC_RUNS_TABLE = "enforcement_sync_runs"
CHECKS_TABLE = "publication_checks"
OVERRIDES_TABLE = "publication_overrides"
LEASES_TABLE = "day_leases"
LEASE_LOCK_TABLE = "day_lease_lock"
BLOCK_LIFTS_TABLE = "block_lifts"
INTRADAY_SCORES_TABLE = "intraday_scores"
INTRADAY_ACCOUNTS_TABLE = "intraday_batch_accounts"
INTRADAY_BATCHES_TABLE = "intraday_batches"
REASON_SLOTS = 3
SOURCE_COLUMN, DAILY, INTRADAY = "source", "daily", "intraday"

REASON_COLUMNS = tuple(
    column
    for slot in range(1, REASON_SLOTS + 1)
    for column in ((f"reason_code_{slot}", "string"), (f"reason_text_{slot}", "string"))
)
FIRST_REASON = tuple(name for name, _ in REASON_COLUMNS[:2])  # what every flagged account must carry
MODEL_COLUMNS = (("model_name", "string"), ("model_version", "string"))
# The account's linked group on the day (the mart's `linked_group_id`; null when it has no strong
# link or its group is too large to be one ring): review and the product act on a group's
# flagged members together.
GROUP_COLUMN = ("group_id", "string")

# One row per account and as-of day; a partition (day) is replaced whole on re-run.
SCORES_COLUMNS = (
    ("account_id", "string"),
    ("as_of_date", "date"),
    ("score", "float"),
    ("band", "string"),
    GROUP_COLUMN,
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
    GROUP_COLUMN,
    *REASON_COLUMNS,
    *MODEL_COLUMNS,
    ("effective_from", "date"),
    ("updated_at", "timestamp"),
    ("is_tombstone", "boolean"),
    # Who set the decision: `daily` (the daily run, the system of record) or `intraday` (a
    # near-real-time batch's escalation, reconciled by the next daily run; ml/live/escalate.py).
    ("source", "string"),
)

# Append-only: every decision change, with the decision it replaced.
DECISIONS_COLUMNS = (
    ("account_id", "string"),
    ("as_of_date", "date"),
    ("decision", "string"),
    ("previous_decision", "string"),
    ("band", "string"),
    ("score", "float"),
    GROUP_COLUMN,
    *REASON_COLUMNS,
    *MODEL_COLUMNS,
    ("decided_at", "timestamp"),
    ("run_id", "string"),
    # Why the decision changed: `model` (the band moved), `left the population`, `returned`, or
    # the human action that lifted a block (`reinstate <action_id> (<source>) at <time>`), or
    # an intraday batch's escalation (`intraday <batch_id>: ...`).
    ("change_reason", "string"),
    ("source", "string"),  # as on the sync row: `daily` or `intraday`
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

# The reverse-ETL cursor, on the sync rows and their history rows: numbered by apply_sync inside
# its transaction, under the sync lock (previous max + 1, 2, ... per changed row), so it grows in
# commit order whatever a worker's clock says. Not part of a diff (SYNC_COLUMNS), only of the tables.
SYNC_SEQ_COLUMN = ("sync_seq", "integer")

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

# Blocks lifted by a person in Vigil (`python -m ml.score.lifts`), e.g. after a bad model or data
# day: like a reinstatement in the product, the only other thing that ends a block.
BLOCK_LIFTS_COLUMNS = (
    ("account_id", "string"),
    ("lifted_at", "timestamp"),
    ("lifted_by", "string"),
    ("reason", "string"),
)

# Near-real-time scores (ml/live): one row per batch and account, appended, never replaced. The
# score columns of SCORES_COLUMNS, plus the batch, the cut-off its features reflect (the newest
# ingestion every tile they read reflects) and the landing files that triggered it.
INTRADAY_SCORES_COLUMNS = (
    ("batch_id", "string"),
    *SCORES_COLUMNS,
    ("features_ingested_through", "timestamp"),
    ("trigger_files", "string"),
)

# One row per near-real-time batch, empty ones included, written with its scores in one
# transaction: where the next batch's changes start (`cut_off`), and the batch's audit.
INTRADAY_BATCHES_COLUMNS = (
    ("batch_id", "string"),
    ("as_of_date", "date"),
    ("since", "timestamp"),  # the change-log mark its changes come after
    ("cut_off", "timestamp"),  # the change-log mark its vectors reflect
    ("accounts_touched", "integer"),
    ("accounts_scored", "integer"),  # fewer when a touched account is outside the population
    ("trigger_files", "string"),
    ("finished_at", "timestamp"),
    ("escalated", "integer"),  # sync rows it escalated (0 when refused)
    # `published`, `nothing to escalate`, or `refused: <failed checks>` (its checks are in
    # publication_checks under its batch id)
    ("publication", "string"),
)

# The accounts of the batch being computed (var `feature_accounts` of
# fct_account_features_intraday): replaced by each batch; one batch runs at a time.
INTRADAY_ACCOUNTS_COLUMNS = (("batch_id", "string"), ("account_id", "string"))

TABLE_COLUMNS = {
    SCORES_TABLE: SCORES_COLUMNS,
    SYNC_TABLE: (*SYNC_COLUMNS, SYNC_SEQ_COLUMN),
    DECISIONS_TABLE: (*DECISIONS_COLUMNS, SYNC_SEQ_COLUMN),
    SYNC_RUNS_TABLE: SYNC_RUNS_COLUMNS,
    CHECKS_TABLE: CHECKS_COLUMNS,
    OVERRIDES_TABLE: OVERRIDES_COLUMNS,
    LEASES_TABLE: LEASES_COLUMNS,
    LEASE_LOCK_TABLE: LEASE_LOCK_COLUMNS,
    BLOCK_LIFTS_TABLE: BLOCK_LIFTS_COLUMNS,
    INTRADAY_SCORES_TABLE: INTRADAY_SCORES_COLUMNS,
    INTRADAY_ACCOUNTS_TABLE: INTRADAY_ACCOUNTS_COLUMNS,
    INTRADAY_BATCHES_TABLE: INTRADAY_BATCHES_COLUMNS,
}


def risk_schema() -> str:
    """The risk schema on the current target (`ml.settings.schema_name`, the dbt target's rule)."""
    return settings.schema_name(RISK_SCHEMA)


def ensure_risk_tables(session: WarehouseSession) -> None:
    """Create the risk schema and its tables if they do not exist, and add columns a newer
    version declares to tables an older one created (never drops anything)."""
    risk = risk_schema()
    ensure_schema(session, risk)
    for table, columns in TABLE_COLUMNS.items():
        session.execute(create_table_sql(risk, table, columns, session.dialect))
    add_sync_seq(session, risk)  # before the generic pass: its rows need numbering, not nulls
    for table, columns in TABLE_COLUMNS.items():
        existing = session.fetch_arrow(
            "select column_name from information_schema.columns"
            " where lower(table_schema) = ? and lower(table_name) = ?",
            [risk.lower(), table],
        ).column("column_name")
        names = {str(name).lower() for name in existing.to_pylist()}
        for name, kind in columns:
            if name not in names:
                session.execute(f"alter table {risk}.{table} add column {name} {sql_type(kind, session.dialect)}")
                if name == SOURCE_COLUMN:  # every decision before intraday ones existed was the daily run's
                    session.execute(f"update {risk}.{table} set {name} = '{DAILY}' where {name} is null")


def add_sync_seq(session: WarehouseSession, risk: str) -> None:
    """Give tables made before sync_seq existed the column, numbered in the order the changes
    were made (history by decided_at; a sync row takes its latest history row's number)."""
    if SYNC_SEQ_COLUMN[0] in session.fetch_arrow(f"select * from {risk}.{SYNC_TABLE} limit 0").column_names:
        return
    name, kind = SYNC_SEQ_COLUMN
    for table in (DECISIONS_TABLE, SYNC_TABLE):
        session.execute(f"alter table {risk}.{table} add column if not exists {name} {sql_type(kind, session.dialect)}")
    session.execute(
        f"update {risk}.{DECISIONS_TABLE} as d set sync_seq = n.seq from ("
        "select account_id, as_of_date, decided_at,"
        " row_number() over (order by decided_at, as_of_date, account_id) as seq"
        f" from {risk}.{DECISIONS_TABLE}) as n"
        " where d.account_id = n.account_id and d.as_of_date = n.as_of_date and d.decided_at = n.decided_at"
    )
    session.execute(
        f"update {risk}.{SYNC_TABLE} as s set sync_seq = n.seq from ("
        f"select account_id, max(sync_seq) as seq from {risk}.{DECISIONS_TABLE} group by account_id) as n"
        " where s.account_id = n.account_id"
    )
