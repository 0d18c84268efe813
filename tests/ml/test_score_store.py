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
    store.apply_sync(warehouse, diff, day, len(scores), NOW, "r", state.runs_applied)


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

    with pytest.raises(RuntimeError, match="another sync run landed"):
        store.apply_sync(warehouse, diff, DAY2, 2, NOW, "late", stale.runs_applied)

    assert _table(warehouse, "select count(*) as n from risk.enforcement_sync_runs") == [{"n": 1}]
    assert _table(warehouse, "select decision from risk.enforcement_sync where sync_key = 'a'") == [
        {"decision": "none"}
    ]
