"""One run at a time owns a day's scores and sync; a backfill never re-publishes history."""

from datetime import timedelta

import pytest

import ml.score.publish as publish_module
from ml.score import leases, store
from ml.score.publish import PublicationRefusedError
from tests.faults.world import (
    DAY,
    accounts,
    days_between,
    new_reviews,
    normal_bands,
    publish,
    rows,
    score_days,
    scores_frame,
)

NEXT = DAY + timedelta(days=1)


def test_a_backfill_while_the_next_days_run_applies_writes_no_decision_before_the_watermark(
    published_world, monkeypatch
):
    world = published_world
    # The daily runs published up to D.
    score_days(world, [DAY], "daily-d")
    publish(world, [DAY], "daily-d")
    # A backfill rescored D-30..D (other bands: a new model, say); D+1's daily run scored D+1.
    backfill = days_between(DAY - timedelta(days=30), DAY)
    score_days(world, backfill, "backfill", lambda d: new_reviews(accounts(world, d)))
    score_days(world, [NEXT], "daily-next")
    decisions_before = rows(world, "select count(*) from risk.enforcement_decisions")

    # The backfill's sync skips D-30..D-1 (before the watermark D), reads the sync state for D,
    # and right then D+1's run applies.
    real_read_lifts, raced = publish_module.read_lifts, []

    def read_lifts_while_the_daily_run_applies(warehouse, day):
        if not raced:
            raced.append(day)
            publish(world, [NEXT], "daily-next")
        return real_read_lifts(warehouse, day)

    monkeypatch.setattr(publish_module, "read_lifts", read_lifts_while_the_daily_run_applies)
    outcomes = publish(world, backfill, "backfill")

    assert raced == [DAY]
    assert {o.status for o in outcomes} == {"skipped"}
    written = rows(
        world, "select count(*) from risk.enforcement_decisions where as_of_date < ? and run_id = 'backfill'", [NEXT]
    )
    assert written == [(0,)]
    assert rows(world, "select count(*) from risk.enforcement_decisions where run_id = 'backfill'") == [(0,)]
    assert rows(world, "select max(as_of_date) from risk.enforcement_sync_runs") == [(NEXT,)]
    assert rows(world, "select count(*) from risk.enforcement_decisions")[0][0] >= decisions_before[0][0]


def test_a_run_cannot_rescore_or_publish_a_day_another_live_run_owns(world):
    score_days(world, [DAY], "run-a", is_stale=lambda lease: False)

    with pytest.raises(leases.DayLeasedError, match=f"{DAY} by run run-a"):
        score_days(world, [DAY], "run-b", is_stale=lambda lease: False)
    with pytest.raises(leases.DayLeasedError):
        publish(world, [DAY], "run-b", is_stale=lambda lease: False)
    # Even a write that skipped the lease is refused inside its transaction.
    sneaky = scores_frame(DAY, normal_bands(accounts(world)), "run-b")
    with pytest.raises(store.GuardFailedError, match="does not own"):
        store.replace_scores(world, DAY, sneaky, guards=[leases.held_by(DAY, "run-b")])
    assert rows(world, "select distinct run_id from risk.account_risk_scores where as_of_date = ?", [DAY]) == [
        ("run-a",)
    ]


def test_the_lease_of_a_finished_run_is_taken_over_and_its_scores_are_not_published_by_another(world):
    score_days(world, [DAY], "run-a")  # run A scored D, then ended before its sync

    finished = {"run-a"}
    with pytest.raises(PublicationRefusedError, match="written by run run-a, not by this run"):
        publish(world, [DAY], "run-b", is_stale=lambda lease: lease.run_id in finished)

    score_days(world, [DAY], "run-b", is_stale=lambda lease: lease.run_id in finished)
    assert publish(world, [DAY], "run-b")[0].status == "applied"
    assert rows(world, "select count(*) from risk.day_leases") == [(0,)]  # given back after the sync
