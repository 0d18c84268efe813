"""A reference reverse-ETL consumer: what Hightouch or Census do with `risk.enforcement_sync`,
into the product's PostgreSQL database.

The cursor rule (README, "Reading the enforcement sync"), which every consumer must follow:
- read the rows with `sync_seq > cursor`, in `sync_seq` order, in batches;
- upsert each row by `sync_key` (a row is the account's whole current state), and never let an
  older row (smaller `sync_seq`) overwrite a newer one;
- store the batch's largest `sync_seq` as the new cursor in the same transaction as its rows,
  so a consumer killed at any point re-reads exactly what it had not committed;
- never delete a product row because the sync table no longer shows it as live: Vigil never
  deletes, it tombstones (`is_tombstone`, decision `removed`; a block stays `block`);
- never use `updated_at` as the cursor: it is the scoring worker's clock, and a worker whose
  clock runs behind writes changes "in the past" that a time cursor skips. `sync_seq` is
  numbered under the sync's lock in commit order, whatever any clock says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql

from ml.faults import crash_point
from ml.score.schema import SYNC_TABLE, TABLE_COLUMNS, risk_schema
from ml.warehouse import Warehouse

log = logging.getLogger(__name__)

PRODUCT_TABLE = "vigil_enforcement"
CURSOR_TABLE = "vigil_sync_cursors"
CURSOR_NAME = "vigil.enforcement_sync"
BATCH_ROWS = 5_000
SYNC_COLUMNS = tuple(name for name, _ in TABLE_COLUMNS[SYNC_TABLE])
_PG_TYPES = {
    "string": "text",
    "float": "double precision",
    "date": "date",
    "timestamp": "timestamptz",  # the warehouse's naive UTC, stored with its zone
    "boolean": "boolean",
    "integer": "bigint",
}


class CursorMoved(RuntimeError):
    """Another consumer committed the same cursor meanwhile: this batch is rolled back."""


@dataclass(frozen=True)
class SyncReport:
    batches: int
    rows: int
    cursor_before: int
    cursor_after: int


def ensure_product_tables(conn: psycopg.Connection, table: str = PRODUCT_TABLE) -> None:
    """The product's copy of the sync table (+ when it was synced) and the cursor table."""
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(name),
            sql.SQL(_PG_TYPES[kind]),
            sql.SQL(" primary key" if name == "sync_key" else (" not null" if name == "sync_seq" else "")),
        )
        for name, kind in TABLE_COLUMNS[SYNC_TABLE]
    ]
    with conn.transaction():
        conn.execute(
            sql.SQL("create table if not exists {} ({}, synced_at timestamptz not null default now())").format(
                sql.Identifier(table), sql.SQL(", ").join(columns)
            )
        )
        for name, kind in TABLE_COLUMNS[SYNC_TABLE]:  # columns a newer Vigil added (e.g. `source`)
            conn.execute(
                sql.SQL("alter table {} add column if not exists {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(_PG_TYPES[kind])
                )
            )
        conn.execute(
            sql.SQL(
                "create table if not exists {} (name text primary key, last_sync_seq bigint not null,"
                " updated_at timestamptz not null default now())"
            ).format(sql.Identifier(CURSOR_TABLE))
        )


def read_cursor(conn: psycopg.Connection, name: str = CURSOR_NAME) -> int:
    with conn.transaction():
        conn.execute(
            sql.SQL("insert into {} (name, last_sync_seq) values (%s, 0) on conflict (name) do nothing").format(
                sql.Identifier(CURSOR_TABLE)
            ),
            [name],
        )
        row = conn.execute(
            sql.SQL("select last_sync_seq from {} where name = %s").format(sql.Identifier(CURSOR_TABLE)), [name]
        ).fetchone()
    return int(row[0])


def read_changes(warehouse: Warehouse, after: int, limit: int) -> pa.Table:
    """Up to `limit` sync rows with sync_seq > `after`, in sync_seq order."""
    columns = ", ".join(SYNC_COLUMNS)
    query = (
        f"select {columns} from {risk_schema()}.{SYNC_TABLE} where sync_seq > ? order by sync_seq limit {int(limit)}"
    )
    with warehouse.session() as session:
        return session.fetch_arrow(query, [after])


def _pg_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # the warehouse stores UTC wall time
    return value


def apply_batch(
    conn: psycopg.Connection, rows: pa.Table, cursor: int, table: str = PRODUCT_TABLE, name: str = CURSOR_NAME
) -> int:
    """Upsert one batch and move the cursor from `cursor` to its largest sync_seq, in one
    transaction. Raises CursorMoved (nothing written) if the stored cursor is not `cursor`."""
    last_seq = int(max(rows.column("sync_seq").to_pylist()))
    target, names = sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, SYNC_COLUMNS))
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in SYNC_COLUMNS if c != "sync_key"
    )
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("create temp table vigil_batch (like {} including defaults) on commit drop").format(target))
        with cur.copy(sql.SQL("copy vigil_batch ({}) from stdin").format(names)) as copy:
            for row in rows.to_pylist():
                copy.write_row([_pg_value(row[c]) for c in SYNC_COLUMNS])
        # An older row never overwrites a newer one (e.g. after a cursor was reset by hand).
        cur.execute(
            sql.SQL(
                "insert into {target} ({names}) select {names} from vigil_batch"
                " on conflict (sync_key) do update set {updates}, synced_at = now()"
                " where {target}.sync_seq < excluded.sync_seq"
            ).format(target=target, names=names, updates=updates)
        )
        cur.execute(
            sql.SQL(
                "update {} set last_sync_seq = %s, updated_at = now() where name = %s and last_sync_seq = %s"
            ).format(sql.Identifier(CURSOR_TABLE)),
            [last_seq, name, cursor],
        )
        if cur.rowcount != 1:
            raise CursorMoved(f"cursor {name!r} is no longer {cursor}: another consumer is running; rolled back")
        crash_point("reverse_etl.before_commit")
    return last_seq


def sync_to_postgres(
    warehouse: Warehouse,
    conninfo: str = "",
    table: str = PRODUCT_TABLE,
    name: str = CURSOR_NAME,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[int, int, int], None] | None = None,
) -> SyncReport:
    """Copy every sync row past the stored cursor into the product table, batch by batch,
    until caught up. `conninfo` is libpq's (empty: the PG* environment variables)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("set time zone 'UTC'")
        ensure_product_tables(conn, table)
        start = cursor = read_cursor(conn, name)
        batches = rows = 0
        while True:
            batch = read_changes(warehouse, cursor, batch_rows)
            if batch.num_rows == 0:
                break
            first = cursor
            cursor = apply_batch(conn, batch, cursor, table, name)
            batches, rows = batches + 1, rows + batch.num_rows
            log.info("committed %d rows, sync_seq %d..%d", batch.num_rows, first + 1, cursor)
            if on_batch:
                on_batch(batch.num_rows, first, cursor)
            crash_point("reverse_etl.between_batches")
    return SyncReport(batches=batches, rows=rows, cursor_before=start, cursor_after=cursor)
