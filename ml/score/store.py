"""Read features and write scores and sync changes, each write in one transaction.

Both engines take the same statements: scores replace their as-of day (delete + bulk insert),
sync changes are bulk-loaded into a staging table and upserted into the sync table, then the
decision history and the sync-run watermark are appended. On Snowflake the bulk loads are
Parquet files PUT to the table stage and COPYed (`SnowflakeSession.append_arrow`); no
row-by-row inserts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import pyarrow as pa

from ml import settings
from ml.faults import crash_point
from ml.score.feature_rows import feature_frame
from ml.score.schema import (
    DECISIONS_TABLE,
    INTRADAY_ACCOUNTS_TABLE,
    SCORES_TABLE,
    SYNC_RUNS_TABLE,
    SYNC_SEQ_COLUMN,
    SYNC_TABLE,
    TABLE_COLUMNS,
    ensure_risk_tables,
    risk_schema,
)
from ml.score.sync import SyncDiff
from ml.warehouse import Warehouse, WarehouseSession
from ml.warehouse.base import create_table_sql, sql_type

FEATURES_MODEL = "fct_account_features_daily"  # in the marts schema of the current target


def features_table() -> str:
    """The feature mart, qualified with the marts schema of the current target."""
    return f"{settings.schema_name('marts')}.{FEATURES_MODEL}"


SYNC_SEQ = SYNC_SEQ_COLUMN[0]
CHANGES_TABLE = f"{SYNC_TABLE}_changes"  # staged changes for the upsert; empty between runs
_ARROW = {
    "string": pa.string(),
    "float": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
}


def to_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """The frame typed as the risk table it is written to (columns in table order)."""
    columns = TABLE_COLUMNS[table]
    schema = pa.schema([(name, _ARROW[kind]) for name, kind in columns])
    return pa.Table.from_pandas(frame[[name for name, _ in columns]], schema=schema, preserve_index=False)


@dataclass(frozen=True)
class Guard:
    """A precondition a write re-checks inside its own transaction, after taking its lock:
    `sql` returns one row whose `n` must equal `expected`, else nothing is written."""

    sql: str
    params: list
    expected: int
    failure: str


class GuardFailedError(RuntimeError):
    def __init__(self, guard: Guard, found: int) -> None:
        super().__init__(f"{guard.failure} (found {found}, expected {guard.expected})")
        self.guard = guard


class StaleSyncError(RuntimeError):
    """Another sync run landed while the diff was computed: recompute it."""


def _check(session: WarehouseSession, guards: Sequence[Guard]) -> None:
    for guard in guards:
        found = int(session.fetch_arrow(guard.sql, guard.params).to_pylist()[0]["n"])
        if found != guard.expected:
            raise GuardFailedError(guard, found)


def prepare(warehouse: Warehouse) -> None:
    from ml.score.leases import prepare_lock

    with warehouse.session() as session:
        ensure_risk_tables(session)
        risk = risk_schema()
        session.execute(create_table_sql(risk, CHANGES_TABLE, TABLE_COLUMNS[SYNC_TABLE], session.dialect))
        staged = {c.lower() for c in session.fetch_arrow(f"select * from {risk}.{CHANGES_TABLE} limit 0").column_names}
        for name, kind in TABLE_COLUMNS[SYNC_TABLE]:  # made by an older version (empty between runs)
            if name not in staged:
                session.execute(
                    f"alter table {risk}.{CHANGES_TABLE} add column {name} {sql_type(kind, session.dialect)}"
                )
        prepare_lock(session)


def read_features(warehouse: Warehouse, day: date) -> pd.DataFrame:
    """Every account's feature row for one as-of day: the population to score."""
    with warehouse.session() as session:
        return feature_frame(session.fetch_arrow(f"select * from {features_table()} where as_of_date = ?", [day]))


@contextmanager
def session_of(source: Warehouse | WarehouseSession) -> Iterator[WarehouseSession]:
    """A session: the one given, or a new one on the warehouse given (so several reads can
    share one connection; opening one costs more than a small read)."""
    if hasattr(source, "fetch_arrow"):
        yield source
    else:
        with source.session() as session:
            yield session


def count_features(source: Warehouse | WarehouseSession, day: date) -> int:
    with session_of(source) as session:
        rows = session.fetch_arrow(f"select count(*) as n from {features_table()} where as_of_date = ?", [day])
    return int(rows.to_pylist()[0]["n"])


def replace_scores(warehouse: Warehouse, day: date, scores: pd.DataFrame, guards: Sequence[Guard] = ()) -> None:
    """Replace one as-of day of scores: a re-run leaves exactly one row per account and day.
    `guards` (e.g. "this run still owns the day") are checked inside the transaction."""
    if len(scores) and set(scores["as_of_date"]) != {day}:
        raise ValueError(f"scores for {day} hold other days: {sorted(set(scores['as_of_date']) - {day})[:5]}")
    data = to_arrow(scores, SCORES_TABLE)
    with warehouse.session() as session, session.transaction():
        session.execute(f"delete from {risk_schema()}.{SCORES_TABLE} where as_of_date = ?", [day])
        _check(session, guards)
        session.append_arrow(risk_schema(), SCORES_TABLE, data)


def read_scores(source: Warehouse | WarehouseSession, day: date) -> pd.DataFrame:
    with session_of(source) as session:
        table = session.fetch_arrow(f"select * from {risk_schema()}.{SCORES_TABLE} where as_of_date = ?", [day])
    return table.to_pandas()


def with_sync_seq(diff: SyncDiff, last_seq: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The diff's rows numbered last_seq + 1, + 2, ... in sync_key order; each history row
    carries the number of the sync row it produced. A consumer that reads `sync_seq > cursor`
    therefore never misses a change, whichever clock wrote `updated_at`."""
    upserts = diff.upserts.sort_values("sync_key", kind="stable", ignore_index=True)
    upserts[SYNC_SEQ] = range(last_seq + 1, last_seq + 1 + len(upserts))
    numbers = upserts.set_index("account_id")[SYNC_SEQ]
    decisions = diff.decisions.assign(**{SYNC_SEQ: diff.decisions["account_id"].map(numbers)})
    return upserts, decisions


@dataclass(frozen=True)
class SyncState:
    current: pd.DataFrame  # the sync table's rows
    last_day: date | None  # the watermark: the last as-of day applied (None before the first)
    runs_applied: int  # sync runs so far: apply_sync refuses if another run landed in between
    last_seq: int = 0  # the newest sync_seq: apply_sync also refuses if an intraday batch escalated


def read_sync(source: Warehouse | WarehouseSession, batch_id: str | None = None) -> SyncState:
    """The sync table and its marks; with `batch_id`, only the rows of that near-real-time
    batch's accounts (`risk.intraday_batch_accounts`): a batch needs those, not the whole table."""
    with session_of(source) as session:
        sql, params = f"select * from {risk_schema()}.{SYNC_TABLE}", []
        if batch_id is not None:
            sql += (
                f" where account_id in (select account_id from {risk_schema()}.{INTRADAY_ACCOUNTS_TABLE}"
                " where batch_id = ?)"
            )
            params = [batch_id]
        current = session.fetch_arrow(sql, params).to_pandas()
        runs = session.fetch_arrow(
            f"select max(as_of_date) as last_day, count(*) as n from {risk_schema()}.{SYNC_RUNS_TABLE}"
        ).to_pylist()[0]
        last_seq = _last_seq(session)
    return SyncState(current, runs["last_day"], int(runs["n"]), last_seq)


def _last_seq(session: WarehouseSession) -> int:
    found = session.fetch_arrow(f"select max({SYNC_SEQ}) as n from {risk_schema()}.{SYNC_TABLE}").to_pylist()[0]["n"]
    return int(found or 0)


def lock_sync(session: WarehouseSession, seen: SyncState, what: str) -> None:
    """Inside a transaction: take the sync's lock (the first write, to the staging table, so a
    concurrent writer waits here), then refuse (StaleSyncError) if a sync run or an intraday
    escalation landed since the state a diff was computed from was read."""
    session.execute(f"delete from {risk_schema()}.{CHANGES_TABLE}")
    landed = session.fetch_arrow(f"select count(*) as n from {risk_schema()}.{SYNC_RUNS_TABLE}").to_pylist()[0]["n"]
    seq = _last_seq(session)
    if int(landed) != seen.runs_applied or seq != seen.last_seq:
        raise StaleSyncError(
            f"the sync changed while the diff for {what} was computed ({seen.runs_applied} -> {landed} runs,"
            f" sync_seq {seen.last_seq} -> {seq}): nothing written; run it again"
        )


def upsert_changes(session: WarehouseSession, diff: SyncDiff, last_seq: int) -> None:
    """Inside the sync's lock: number the diff's rows after `last_seq`, upsert them into the sync
    table and append their history."""
    if not diff.changed:
        return
    # An upsert of whole rows from the staged changes: delete the keys, insert the rows. Same
    # effect as a MERGE; chosen because fakesnow cannot run a MERGE inside an explicit
    # transaction (it writes to its own catalog database), and the tests must cover this SQL.
    names = ", ".join(name for name, _ in TABLE_COLUMNS[SYNC_TABLE])
    target, staged = f"{risk_schema()}.{SYNC_TABLE}", f"{risk_schema()}.{CHANGES_TABLE}"
    upserts, decisions = with_sync_seq(diff, last_seq)
    session.append_arrow(risk_schema(), CHANGES_TABLE, to_arrow(upserts, SYNC_TABLE))  # same columns
    session.execute(f"delete from {target} where sync_key in (select sync_key from {staged})")
    session.execute(f"insert into {target} ({names}) select {names} from {staged}")
    crash_point("sync.apply.after_upsert")
    session.execute(f"delete from {staged}")
    session.append_arrow(risk_schema(), DECISIONS_TABLE, to_arrow(decisions, DECISIONS_TABLE))


def apply_sync(
    warehouse: Warehouse,
    diff: SyncDiff,
    day: date,
    accounts_scored: int,
    applied_at: datetime,
    run_id: str,
    seen: SyncState,
    scores_run_id: str | None = None,
    guards: Sequence[Guard] = (),
    also: Sequence[tuple[str, pa.Table]] = (),
) -> None:
    """Stage the changed rows, upsert them into the sync table, append their history and the
    watermark: all or nothing.

    `seen` is what `read_sync` saw when the diff was computed: if another sync run or an
    intraday escalation has landed since, the diff is stale and nothing is written
    (StaleSyncError). `guards` (the publication gate's: this run owns the day, its scores are
    unchanged, the watermark has not passed the day) are checked after taking the lock, inside
    the transaction; `also` are more (risk table, rows) appends that commit with it (e.g. the
    override that allowed it).
    """
    run = pd.DataFrame(
        [
            {
                "as_of_date": day,
                "applied_at": applied_at,
                "accounts_scored": accounts_scored,
                "changed": diff.changed,
                "tombstoned": diff.tombstoned,
                "run_id": run_id,
                "scores_run_id": scores_run_id,
            }
        ]
    )
    with warehouse.session() as session, session.transaction():
        lock_sync(session, seen, str(day))
        _check(session, guards)
        upsert_changes(session, diff, seen.last_seq)  # numbered under the lock: sync_seq grows in commit order
        session.append_arrow(risk_schema(), SYNC_RUNS_TABLE, to_arrow(run, SYNC_RUNS_TABLE))
        for table, rows in also:
            session.append_arrow(risk_schema(), table, rows)
