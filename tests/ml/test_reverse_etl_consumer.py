"""The reference reverse-ETL consumer against a real PostgreSQL server."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from ml.reverse_etl.consumer import (
    CURSOR_TABLE,
    SYNC_COLUMNS,
    CursorMoved,
    apply_batch,
    ensure_product_tables,
    read_changes,
    read_cursor,
    sync_to_postgres,
)
from ml.score import store
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.reverse_etl_helpers import score_and_sync, sync_table

DAY = date(2026, 9, 1)
NOW = datetime(2026, 9, 2, 2, 0)


@pytest.fixture
def product(postgres_server, request):
    """A fresh product database per test: (libpq conninfo, open connection)."""
    name = f"product_{request.node.name[-40:].lower()}"[:60]
    postgres_server.create_database(name, owner=f"{name}_owner", owner_password="product-password")
    conninfo = postgres_server.conninfo(name, user=f"{name}_owner", password="product-password")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("set time zone 'UTC'")
        yield conninfo, conn


@pytest.fixture
def warehouse(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    store.prepare(wh)
    return wh


def _product_rows(conn, table: str = "vigil_enforcement") -> pd.DataFrame:
    rows = conn.execute(f"select {', '.join(SYNC_COLUMNS)} from {table} order by sync_key").fetchall()
    frame = pd.DataFrame(rows, columns=list(SYNC_COLUMNS))
    frame["updated_at"] = [t.astimezone(UTC).replace(tzinfo=None) for t in frame["updated_at"]]
    return frame


def _same_rows(product: pd.DataFrame, sync: pd.DataFrame) -> bool:
    left, right = product[list(SYNC_COLUMNS)], sync[list(SYNC_COLUMNS)].reset_index(drop=True)
    return left.astype(str).equals(right.astype(str))


def test_the_consumer_copies_the_sync_table_row_for_row_in_batches(warehouse, product):
    conninfo, conn = product
    bands = {f"acc_{i:04d}": ("block" if i % 10 == 0 else "review" if i % 7 == 0 else "allow") for i in range(250)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)

    report = sync_to_postgres(warehouse, conninfo, batch_rows=100)

    assert (report.batches, report.rows, report.cursor_before, report.cursor_after) == (3, 250, 0, 250)
    assert _same_rows(_product_rows(conn), sync_table(warehouse))
    assert read_cursor(conn) == 250
    assert sync_to_postgres(warehouse, conninfo).rows == 0  # caught up: nothing to do


def test_tombstones_arrive_as_rows_and_nothing_is_ever_deleted_downstream(warehouse, product):
    conninfo, conn = product
    bands = {f"acc_{i:04d}": "review" if i < 3 else "allow" for i in range(200)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)
    sync_to_postgres(warehouse, conninfo)
    del bands["acc_0000"], bands["acc_0150"]  # they leave the scored population

    score_and_sync(warehouse, DAY + timedelta(days=1), bands, NOW + timedelta(days=1), seed=2)
    sync_to_postgres(warehouse, conninfo)

    rows = _product_rows(conn).set_index("sync_key")
    assert len(rows) == 200
    assert rows.loc[["acc_0000", "acc_0150"], "is_tombstone"].all()
    assert set(rows.loc[["acc_0000", "acc_0150"], "decision"]) == {"removed"}
    assert _same_rows(_product_rows(conn), sync_table(warehouse))


def test_an_older_row_never_overwrites_a_newer_one(warehouse, product):
    conninfo, conn = product
    bands = {f"acc_{i:04d}": "allow" for i in range(150)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)
    old = read_changes(warehouse, 0, 1000)  # acc_0001 at its first sync_seq
    bands["acc_0001"] = "block"
    score_and_sync(warehouse, DAY + timedelta(days=1), bands, NOW + timedelta(days=1), seed=2)
    sync_to_postgres(warehouse, conninfo)
    ensure_product_tables(conn)
    # A replay of the first batch, e.g. after someone reset the cursor by hand.
    conn.execute(f"update {CURSOR_TABLE} set last_sync_seq = 0")

    apply_batch(conn, old, cursor=0)

    assert _product_rows(conn).set_index("sync_key").loc["acc_0001", "decision"] == "block"
    assert _same_rows(_product_rows(conn), sync_table(warehouse))


def test_a_batch_whose_cursor_another_consumer_moved_is_rolled_back(warehouse, product):
    conninfo, conn = product
    score_and_sync(warehouse, DAY, {f"acc_{i:04d}": "allow" for i in range(120)}, NOW, seed=1)
    ensure_product_tables(conn)
    read_cursor(conn)
    conn.execute(f"update {CURSOR_TABLE} set last_sync_seq = 7")  # another consumer got there first

    with pytest.raises(CursorMoved):
        apply_batch(conn, read_changes(warehouse, 0, 50), cursor=0)

    assert conn.execute("select count(*) from vigil_enforcement").fetchone()[0] == 0
    assert read_cursor(conn) == 7


def test_a_product_table_made_before_a_column_existed_gets_it(warehouse, product):
    conninfo, conn = product
    # The product's table as an older Vigil made it: without `source`.
    ensure_product_tables(conn)
    conn.execute("alter table vigil_enforcement drop column source")
    score_and_sync(warehouse, DAY, {"a": "review"}, NOW, seed=1)

    sync_to_postgres(warehouse, conninfo)

    (source,) = conn.execute("select source from vigil_enforcement where sync_key = 'a'").fetchone()
    assert source == "daily"
