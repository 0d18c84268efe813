"""Scores and sync writes, on the embedded DuckDB file and on the Snowflake emulator."""

from datetime import date, datetime

import pandas as pd
import pytest

from ml.score import store
from ml.score.schema import SCORES_COLUMNS
from ml.score.sync import diff_sync
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.snowflake_emulator import snowflake_warehouse

DAY1, DAY2 = date(2026, 7, 1), date(2026, 7, 2)
NOW = datetime(2026, 7, 2, 2, 0, 0)


def _scores(day: date, bands: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({"account_id": list(bands), "band": list(bands.values())})
    frame["as_of_date"] = day
    frame["score"] = frame["band"].map({"allow": 0.01, "review": 0.2, "block": 0.7})
    frame["group_id"] = None
    for i in (1, 2, 3):
        frame[f"reason_code_{i}"] = "CARD_VELOCITY" if i == 1 else None
        frame[f"reason_text_{i}"] = (
            "3 cards added in the last 24h, one shared with 5 other accounts" if i == 1 else None
        )
    frame = frame.assign(
        model_name="vigil_account_risk", model_version="1", feature_version="f@abc", scored_at=NOW, run_id="r"
    )
    return frame[[name for name, _ in SCORES_COLUMNS]]


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "w.duckdb")
    connection = request.getfixturevalue("fakesnow_connection")
    return snowflake_warehouse(connection, f"VIGIL_SCORES_{tmp_path.name[-8:].upper()}")


def _sync_step(warehouse, day: date, scores: pd.DataFrame) -> None:
    state = store.read_sync(warehouse)
    diff = diff_sync(state.current, scores, day, NOW, "r")
    store.apply_sync(warehouse, diff, day, len(scores), NOW, "r", state)


def _table(warehouse, sql: str) -> list[dict]:
    with warehouse.session() as s:
        return s.fetch_arrow(sql).to_pylist()


def test_rescoring_a_day_replaces_it_and_leaves_other_days_alone(warehouse):
    store.prepare(warehouse)
    store.replace_scores(warehouse, DAY1, _scores(DAY1, {"a": "allow", "b": "block"}))
    store.replace_scores(warehouse, DAY2, _scores(DAY2, {"a": "allow", "b": "review"}))

    store.replace_scores(warehouse, DAY1, _scores(DAY1, {"a": "review", "b": "block"}))

    rows = _table(warehouse, "select account_id, as_of_date, band from risk.account_risk_scores order by 2, 1")
    assert [(r["account_id"], str(r["as_of_date"]), r["band"]) for r in rows] == [
        ("a", "2026-07-01", "review"),
        ("b", "2026-07-01", "block"),
        ("a", "2026-07-02", "allow"),
        ("b", "2026-07-02", "review"),
    ]
    text = store.read_scores(warehouse, DAY1)["reason_text_1"].iloc[0]
    assert text == "3 cards added in the last 24h, one shared with 5 other accounts"


def test_scores_for_another_day_are_refused(warehouse):
    store.prepare(warehouse)
    with pytest.raises(ValueError, match="hold other days"):
        store.replace_scores(warehouse, DAY1, _scores(DAY2, {"a": "allow"}))


def test_the_sync_table_merges_changes_tombstones_and_keeps_history(warehouse):
    store.prepare(warehouse)
    # a escalates; c (blocked) and d (in review) leave the scored population.
    _sync_step(warehouse, DAY1, _scores(DAY1, {"a": "allow", "b": "review", "c": "block", "d": "review"}))
    _sync_step(warehouse, DAY2, _scores(DAY2, {"a": "block", "b": "review"}))
    before = _table(warehouse, "select * from risk.enforcement_sync order by sync_key")

    _sync_step(warehouse, DAY2, _scores(DAY2, {"a": "block", "b": "review"}))  # the same day again

    after = _table(warehouse, "select * from risk.enforcement_sync order by sync_key")
    assert after == before  # a re-run changes nothing, not even updated_at
    current = {r["account_id"]: (r["decision"], str(r["effective_from"]), r["is_tombstone"]) for r in after}
    assert current == {
        "a": ("block", "2026-07-02", False),
        "b": ("review", "2026-07-01", False),
        "c": ("block", "2026-07-01", True),  # going quiet never lifts a block
        "d": ("removed", "2026-07-02", True),
    }
    history = _table(
        warehouse,
        "select account_id, decision, previous_decision from risk.enforcement_decisions"
        " order by as_of_date, account_id",
    )
    assert [(r["account_id"], r["decision"], r["previous_decision"]) for r in history] == [
        ("a", "none", None),
        ("b", "review", None),
        ("c", "block", None),
        ("d", "review", None),
        ("a", "block", "none"),
        ("c", "block", "block"),
        ("d", "removed", "review"),
    ]
    runs = _table(
        warehouse, "select as_of_date, changed, tombstoned from risk.enforcement_sync_runs order by applied_at"
    )
    assert [(str(r["as_of_date"]), r["changed"], r["tombstoned"]) for r in runs] == [
        ("2026-07-01", 4, 0),
        ("2026-07-02", 3, 2),
        ("2026-07-02", 0, 0),
    ]
    assert _table(warehouse, "select count(*) as n from risk.enforcement_sync_changes") == [{"n": 0}]


def test_a_sync_computed_before_another_run_landed_writes_nothing(warehouse):
    store.prepare(warehouse)
    stale = store.read_sync(warehouse)
    _sync_step(warehouse, DAY1, _scores(DAY1, {"a": "allow", "b": "block"}))  # another run lands
    diff = diff_sync(stale.current, _scores(DAY2, {"a": "review", "b": "block"}), DAY2, NOW, "late")

    with pytest.raises(RuntimeError, match="the sync changed while the diff"):
        store.apply_sync(warehouse, diff, DAY2, 2, NOW, "late", stale)

    assert _table(warehouse, "select count(*) as n from risk.enforcement_sync_runs") == [{"n": 1}]
    assert _table(warehouse, "select decision from risk.enforcement_sync where sync_key = 'a'") == [
        {"decision": "none"}
    ]


def test_a_day_owned_by_a_live_run_cannot_be_taken_but_a_finished_runs_can(warehouse):
    from ml.score import leases

    store.prepare(warehouse)
    leases.acquire(warehouse, [DAY1, DAY2], "run-a", NOW, is_stale=lambda lease: False)

    with pytest.raises(leases.DayLeasedError, match="2026-07-02 by run run-a"):
        leases.acquire(warehouse, [DAY2], "run-b", NOW, is_stale=lambda lease: False)
    taken = leases.acquire(warehouse, [DAY2], "run-b", NOW, is_stale=lambda lease: lease.run_id == "run-a")

    assert [(lease.as_of_date, lease.run_id) for lease in taken] == [(DAY2, "run-a")]
    owners = _table(warehouse, "select as_of_date, run_id from risk.day_leases order by as_of_date")
    assert [(str(r["as_of_date"]), r["run_id"]) for r in owners] == [("2026-07-01", "run-a"), ("2026-07-02", "run-b")]
    leases.release(warehouse, [DAY1, DAY2], "run-b")  # gives back only its own
    assert [r["run_id"] for r in _table(warehouse, "select run_id from risk.day_leases")] == ["run-a"]


def test_a_write_whose_guard_fails_inside_its_transaction_writes_nothing(warehouse):
    from ml.score import leases

    store.prepare(warehouse)
    _sync_step(warehouse, DAY1, _scores(DAY1, {"a": "allow"}))
    state = store.read_sync(warehouse)
    diff = diff_sync(state.current, _scores(DAY2, {"a": "block"}), DAY2, NOW, "r")

    with pytest.raises(store.GuardFailedError, match="does not own 2026-07-02"):
        store.apply_sync(warehouse, diff, DAY2, 1, NOW, "r", state, "r", guards=[leases.held_by(DAY2, "r")])
    with pytest.raises(store.GuardFailedError):
        store.replace_scores(warehouse, DAY2, _scores(DAY2, {"a": "block"}), guards=[leases.held_by(DAY2, "r")])

    assert _table(warehouse, "select decision from risk.enforcement_sync") == [{"decision": "none"}]
    assert _table(warehouse, "select count(*) as n from risk.enforcement_sync_runs") == [{"n": 1}]
    assert _table(warehouse, "select count(*) as n from risk.account_risk_scores") == [{"n": 0}]


def test_the_gate_needs_every_check_recorded_and_passing_for_the_run_that_wrote_the_scores(warehouse):
    from ml.score import publication
    from ml.score.checks import WARN, CheckResult

    store.prepare(warehouse)
    passing = [CheckResult(name, True, "ok") for name in publication.REQUIRED_CHECKS]
    publication.record_checks(warehouse, DAY1, "r", passing, NOW)
    assert publication.verdict(warehouse, DAY1, "r").passed
    assert publication.verdict(warehouse, DAY1, "other").problems[0].endswith("no recorded result")

    failing = [
        CheckResult(r.check, False, "collapsed: 0 rows", severity=WARN if r.check == "band_rate.review" else r.severity)
        if r.check in ("volume.orders", "band_rate.review")
        else r
        for r in passing
    ]
    publication.record_checks(warehouse, DAY1, "r", failing, NOW)  # the run checked again: replaces

    # The warning is recorded but does not block.
    assert publication.verdict(warehouse, DAY1, "r").problems == ("volume.orders: collapsed: 0 rows",)
    rows = _table(warehouse, "select count(*) as n from risk.publication_checks")
    assert rows == [{"n": len(publication.REQUIRED_CHECKS)}]


def test_tables_created_by_an_older_version_get_the_new_columns(warehouse):
    with warehouse.session() as session:
        session.execute("create schema if not exists risk")
        session.execute("create table risk.enforcement_decisions (account_id varchar, decision varchar)")
    store.prepare(warehouse)

    with warehouse.session() as session:
        columns = session.fetch_arrow("select * from risk.enforcement_decisions limit 0").column_names
    assert "change_reason" in columns and "run_id" in columns
