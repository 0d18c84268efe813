"""sync_seq, the reverse-ETL cursor: numbered in commit order by apply_sync, on DuckDB and on
the Snowflake emulator, whatever the clock of the worker that applied a change."""

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from ml.score import store
from ml.score.schema import risk_schema
from ml.score.sync import diff_sync
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.reverse_etl_helpers import score_and_sync, synthetic_scores
from tests.snowflake_emulator import snowflake_warehouse

DAY = date(2026, 9, 1)
NOW = datetime(2026, 9, 2, 2, 0)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    else:
        connection = request.getfixturevalue("fakesnow_connection")
        wh = snowflake_warehouse(connection, f"VIGIL_SEQ_{tmp_path.name[-8:].upper()}")
    store.prepare(wh)
    return wh


def _rows(warehouse, sql: str) -> list[dict]:
    with warehouse.session() as session:
        return session.fetch_arrow(sql).to_pylist()


def test_every_change_gets_the_next_number_in_commit_order_even_from_a_clock_that_goes_back(warehouse):
    bands = {f"acc_{i:03d}": "allow" for i in range(120)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)
    bands.update({"acc_001": "block", "acc_002": "review"})
    # The next day is applied by a worker whose clock is a day behind the first one's.
    score_and_sync(warehouse, DAY + timedelta(days=1), bands, NOW - timedelta(days=1), seed=2)

    history = _rows(warehouse, f"select account_id, sync_seq, decided_at from {risk_schema()}.enforcement_decisions")
    current = _rows(warehouse, f"select sync_key, sync_seq from {risk_schema()}.enforcement_sync")

    assert sorted(int(r["sync_seq"]) for r in history) == list(range(1, 123))  # no gap, no repeat
    second_run = [r for r in history if r["decided_at"] == NOW - timedelta(days=1)]
    assert sorted(int(r["sync_seq"]) for r in second_run) == [121, 122]  # after the first run's
    latest = {}
    for r in history:
        latest[r["account_id"]] = max(latest.get(r["account_id"], 0), int(r["sync_seq"]))
    assert {r["sync_key"]: int(r["sync_seq"]) for r in current} == latest


def test_a_stale_diff_takes_no_number(warehouse):
    bands = {f"acc_{i:03d}": "allow" for i in range(110)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)
    day = DAY + timedelta(days=1)
    store.replace_scores(warehouse, day, synthetic_scores(day, {**bands, "acc_005": "block"}, seed=2))
    state = store.read_sync(warehouse)
    diff = diff_sync(state.current, store.read_scores(warehouse, day), day, NOW, "late")

    with pytest.raises(RuntimeError, match="the sync changed while the diff"):
        store.apply_sync(
            warehouse, diff, day, 110, NOW, "late", dataclasses.replace(state, runs_applied=state.runs_applied - 1)
        )

    assert _rows(warehouse, f"select max(sync_seq) as n from {risk_schema()}.enforcement_sync")[0]["n"] == 110


def test_tables_made_before_sync_seq_get_it_numbered_in_the_order_changes_were_made(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "old.duckdb")
    store.prepare(warehouse)
    bands = {f"acc_{i:03d}": "allow" for i in range(105)}
    score_and_sync(warehouse, DAY, bands, NOW, seed=1)
    score_and_sync(warehouse, DAY + timedelta(days=1), {**bands, "acc_007": "block"}, NOW + timedelta(days=1), seed=2)
    with warehouse.session() as session:  # back to the shape of the tables before sync_seq
        for table in ("enforcement_sync", "enforcement_decisions", "enforcement_sync_changes"):
            session.execute(f"alter table risk.{table} drop column sync_seq")

    store.prepare(warehouse)

    rows = _rows(warehouse, "select account_id, sync_seq from risk.enforcement_sync order by sync_seq")
    # History by decided_at then account: acc_007 was change 8, then change 106; its row shows 106.
    assert [int(r["sync_seq"]) for r in rows] == [s for s in range(1, 107) if s != 8]
    assert rows[-1]["account_id"] == "acc_007"
    history = _rows(warehouse, "select sync_seq from risk.enforcement_decisions order by sync_seq")
    assert [int(r["sync_seq"]) for r in history] == list(range(1, 107))
    # And the next change continues from there.
    score_and_sync(warehouse, DAY + timedelta(days=2), {**bands, "acc_007": "block", "acc_008": "review"}, NOW, seed=3)
    assert _rows(warehouse, "select max(sync_seq) as n from risk.enforcement_sync")[0]["n"] == 107
