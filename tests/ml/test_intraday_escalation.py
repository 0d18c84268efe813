"""Intraday decisions: a batch only escalates to `review`, through its own gate, in one
transaction with its record; the next daily run of the batch's day reconciles what it did."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from ml.live import batch as live
from ml.live import escalate
from ml.live.escalate import BatchInput, GateState, IntradayLimits
from ml.score import store
from ml.score.schema import INTRADAY, SYNC_COLUMNS
from ml.score.sync import diff_sync
from ml.score.thresholds import PublicationThresholds
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.reverse_etl_helpers import score_and_sync, sync_table, synthetic_scores

DAY = date(2026, 9, 2)
CUT_OFF = datetime(2026, 9, 2, 14, 0)
NOW = datetime(2026, 9, 2, 14, 1)
EMPTY = pd.DataFrame({name: pd.Series(dtype="object") for name, _ in SYNC_COLUMNS})
CLEAN = BatchInput({"logins": (40, 0)})
HEALTHY = GateState(DAY - timedelta(days=1), False, 0, (30, 40, 35))


def _intraday(bands: dict[str, str], batch_id: str = "b1", day: date = DAY) -> pd.DataFrame:
    scores = synthetic_scores(day, bands, seed=7)
    scores.insert(0, "batch_id", batch_id)
    return scores.assign(features_ingested_through=CUT_OFF, trigger_files="logins/x.csv", run_id=batch_id)


def _current(rows: list[tuple[str, str, bool]], source: str = "daily", since: date = DAY - timedelta(days=1)):
    """Sync rows (account, decision, is_tombstone)."""
    scores = synthetic_scores(
        since, {a: "review" if d == "review" else "block" if d == "block" else "allow" for a, d, _ in rows}, 1
    )
    diff = diff_sync(EMPTY, scores, since, NOW, "daily-run")
    current = diff.upserts.set_index("account_id")
    for account, decision, tombstone in rows:
        current.loc[account, ["decision", "is_tombstone"]] = [decision, tombstone]
    return current.reset_index().assign(source=source)


def test_a_batch_escalates_to_review_only_and_never_relaxes_a_decision():
    current = _current(
        [("quiet", "none", False), ("flagged", "review", False), ("blocked", "block", False),
         ("gone", "removed", True), ("gone_blocked", "block", True), ("fine", "none", False)]
    )  # fmt: skip
    scores = _intraday(
        {"quiet": "review", "flagged": "allow", "blocked": "allow", "gone": "block", "gone_blocked": "review",
         "fine": "allow", "new_today": "block"}
    )  # fmt: skip

    diff = escalate.escalation_diff(current, scores, DAY, NOW, "b1")

    rows = diff.upserts.set_index("account_id")
    assert sorted(rows.index) == ["gone", "new_today", "quiet"]
    assert set(rows["decision"]) == {"review"}  # a block band too: no intraday block
    assert set(rows["source"]) == {INTRADAY} and set(rows["effective_from"]) == {DAY}
    assert not rows["is_tombstone"].any()
    history = diff.decisions.set_index("account_id")
    assert history.loc["quiet", "previous_decision"] == "none"
    assert pd.isna(history.loc["new_today", "previous_decision"])
    assert history.loc["new_today", "change_reason"].startswith("intraday b1: block band, features through")
    assert "held for review (no intraday block)" in history.loc["new_today", "change_reason"]
    assert "held for review" not in history.loc["quiet", "change_reason"]
    assert set(history["run_id"]) == {"b1"}


def test_the_daily_run_of_the_batch_day_reconciles_intraday_decisions():
    current = _current([("confirmed", "review", False), ("cleared", "review", False)], source=INTRADAY, since=DAY)
    daily = synthetic_scores(DAY, {"confirmed": "review", "cleared": "allow"}, seed=3)

    diff = diff_sync(current, daily, DAY, NOW, "daily-run")

    rows = diff.decisions.set_index("account_id")
    assert rows.loc["cleared", "decision"] == "none"  # the daily run decides: de-escalated
    assert rows.loc["confirmed", "decision"] == "review"  # the same decision, now the daily run's
    assert set(rows["change_reason"]) == {"model; reconciles the intraday review"}
    assert set(diff.upserts["source"]) == {"daily"}


def test_a_daily_run_of_an_earlier_day_leaves_a_newer_intraday_decision_unless_it_blocks():
    newer = _current(
        [("kept", "review", False), ("blocked", "review", False), ("absent", "review", False)], INTRADAY, DAY
    )
    earlier = DAY - timedelta(days=1)
    daily = synthetic_scores(earlier, {"kept": "allow", "blocked": "block", "other": "allow"}, seed=3)

    diff = diff_sync(newer, daily, earlier, NOW, "late-daily")

    rows = diff.upserts.set_index("account_id")
    assert sorted(rows.index) == ["blocked", "other"]  # `absent` is not tombstoned either
    assert rows.loc["blocked", "decision"] == "block"


def _checks(**changes):
    diff = escalate.escalation_diff(EMPTY, _intraday({"a": "review", "b": "allow"}), DAY, NOW, "b1")
    arguments = {
        "scores": _intraday({"a": "review", "b": "allow"}),
        "diff": diff,
        "day": DAY,
        "state": HEALTHY,
        "batch_input": CLEAN,
        "limits": IntradayLimits(),
        "thresholds": PublicationThresholds(),
    } | changes
    return {c.check: c for c in escalate.batch_checks(**arguments)}


def test_a_healthy_batch_passes_every_check():
    checks = _checks()
    assert all(c.passed for c in checks.values()), [c.detail for c in checks.values() if not c.passed]
    assert {"intraday.daily_current", "intraday.escalations_today", "intraday.escalations_explained"} <= set(checks)


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"state": GateState(DAY - timedelta(days=2), False, 0, (30,))}, "intraday.daily_current"),
        ({"state": GateState(None, False, 0, ())}, "intraday.daily_current"),
        ({"state": GateState(DAY - timedelta(days=1), True, 0, (30,))}, "intraday.daily_current"),
        ({"state": GateState(DAY - timedelta(days=1), False, 200, (50,))}, "intraday.escalations_today"),
        ({"batch_input": BatchInput({"logins": (40, 10)})}, "intraday.quarantine.logins"),
        ({"batch_input": BatchInput({"logins": (40, 0)}, [("orders/x.csv", "bad header")])}, "intraday.rejected_files"),
    ],
)
def test_the_gate_refuses_a_batch_when(changes, failing):
    checks = _checks(**changes)
    assert [name for name, c in checks.items() if c.blocks] == [failing]


def test_the_cap_is_a_multiple_of_the_daily_runs_usual_escalations_with_a_floor():
    assert IntradayLimits().cap(()) == 50
    assert IntradayLimits().cap((30, 40, 50)) == 160
    assert IntradayLimits(min_daily_cap=5, cap_factor=2).cap((1, 2)) == 5


def test_an_escalation_without_its_reason_is_refused():
    scores = _intraday({"a": "review"})
    scores["reason_text_1"] = None
    diff = escalate.escalation_diff(EMPTY, scores, DAY, NOW, "b1")
    checks = _checks(scores=scores, diff=diff)
    assert not checks["intraday.escalations_explained"].passed


# --- on a warehouse -------------------------------------------------------------------------


@pytest.fixture
def warehouse(vigil_env, tmp_path):
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    store.prepare(wh)
    with wh.session() as session:
        live.prepare(session)
    score_and_sync(wh, DAY - timedelta(days=1), {"a": "allow", "b": "review", "c": "allow"}, NOW, seed=1)
    return wh


def _batch(wh, batch_id: str, accounts) -> live.Batch:
    """A planned batch, its accounts written as the asset writes them before dbt runs."""
    batch = live.Batch(batch_id, DAY, datetime(2026, 9, 2, 13), CUT_OFF, tuple(accounts))
    with wh.session() as session:
        live.write_batch_accounts(session, batch)
    return batch


def _rows(wh, sql, params=()):
    with wh.session() as session:
        return session.fetch_arrow(sql, list(params)).to_pylist()


def test_a_passing_batch_escalates_in_the_sync_with_its_history_and_its_record(warehouse):
    before = sync_table(warehouse)
    scores = _intraday({"a": "block", "b": "review"})
    batch = _batch(warehouse, "b1", "ab")  # c's sync row is not the batch's: not read

    escalation = live.record_and_escalate(warehouse, batch, scores, ["logins/x.csv"], CLEAN, lambda: NOW)

    assert sorted(escalation.seen.current["account_id"]) == ["a", "b"]
    assert escalation.publication == "published" and escalation.diff.changed == 1
    after = sync_table(warehouse).set_index("account_id")
    assert after.loc["a", ["decision", "source"]].tolist() == ["review", INTRADAY]
    assert after.loc["a", "sync_seq"] == before["sync_seq"].max() + 1  # the reverse-ETL cursor sees it
    assert (
        after.loc[["b", "c"], "sync_seq"].tolist()
        == before.set_index("account_id").loc[["b", "c"], "sync_seq"].tolist()
    )
    (history,) = _rows(warehouse, "select * from risk.enforcement_decisions where source = 'intraday'")
    assert (history["account_id"], history["previous_decision"], history["run_id"]) == ("a", "none", "b1")
    (record,) = _rows(warehouse, "select escalated, publication from risk.intraday_batches")
    assert record == {"escalated": 1, "publication": "published"}
    checks = _rows(warehouse, "select check_name, passed from risk.publication_checks where run_id = 'b1'")
    assert len(checks) >= 6 and all(c["passed"] for c in checks)


def test_scores_of_an_account_the_batch_did_not_plan_are_refused(warehouse):
    with pytest.raises(ValueError, match="did not plan"):
        live.record_and_escalate(
            warehouse, _batch(warehouse, "b1", "a"), _intraday({"a": "allow", "c": "review"}), [], CLEAN, lambda: NOW
        )
    assert _rows(warehouse, "select count(*) as n from risk.intraday_batches") == [{"n": 0}]


def test_a_refused_batch_records_its_scores_and_why_and_publishes_nothing(warehouse):
    before = sync_table(warehouse)
    limits = IntradayLimits(min_daily_cap=0, cap_factor=0)

    escalation = live.record_and_escalate(
        warehouse,
        _batch(warehouse, "b1", "a"),
        _intraday({"a": "review"}),
        ["logins/x.csv"],
        CLEAN,
        lambda: NOW,
        limits,
    )

    assert escalation.publication.startswith("refused: intraday.escalations_today: 1 escalations in this batch")
    pd.testing.assert_frame_equal(sync_table(warehouse), before)
    assert _rows(warehouse, "select count(*) as n from risk.intraday_scores") == [{"n": 1}]
    (record,) = _rows(warehouse, "select escalated, publication from risk.intraday_batches")
    assert record["escalated"] == 0 and record["publication"] == escalation.publication
    failed = _rows(warehouse, "select check_name from risk.publication_checks where run_id = 'b1' and not passed")
    assert failed == [{"check_name": "intraday.escalations_today"}]


def test_a_daily_sync_landing_between_decision_and_record_makes_the_batch_decide_again(warehouse):
    scores, batch = _intraday({"a": "review", "c": "review"}), _batch(warehouse, "b1", "ac")
    stale = escalate.decide(warehouse, DAY, "b1", scores, CLEAN, lambda: NOW)
    score_and_sync(warehouse, DAY, {"a": "allow", "b": "review", "c": "review"}, NOW, seed=2)  # the daily lands

    with pytest.raises(store.StaleSyncError):
        live.record_batch(warehouse, batch, scores, [], NOW, stale)
    assert _rows(warehouse, "select count(*) as n from risk.intraday_batches") == [{"n": 0}]

    escalation = live.record_and_escalate(warehouse, batch, scores, [], CLEAN, lambda: NOW)
    assert sorted(escalation.diff.upserts["account_id"]) == ["a"]  # c is already in review
