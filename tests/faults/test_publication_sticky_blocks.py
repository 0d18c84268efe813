"""The model never lifts a block: only a person does (a reinstatement after the block took
effect), and the decision history says which action lifted it."""

from datetime import datetime, timedelta

import duckdb
import pytest

from ml.score.lifts import record_lifts
from tests.faults.world import DAY, accounts, normal_bands, publish, rows, score_days


@pytest.fixture
def world(published_world):
    """The week before DAY is scored (2% block, 5% review) and published."""
    return published_world


def _blocked_then_falling(world):
    """Bands for D after a week with 2% blocks: every blocked account falls to allow (the block
    suppressed their activity) while the rest of the bands stay normal."""
    ids = accounts(world)
    bands = normal_bands(ids)
    blocked = [a for a, band in bands.items() if band == "block"]
    # Others take their place in the block band, so the day's rates stay plausible.
    newly = [a for a, band in bands.items() if band == "allow"][: len(blocked)]
    fallen = {**bands, **dict.fromkeys(blocked, "allow"), **dict.fromkeys(newly, "block")}
    return blocked, fallen


def test_a_blocked_accounts_score_falling_to_allow_changes_nothing(world):
    blocked, fallen = _blocked_then_falling(world)

    score_days(world, [DAY], "run-d", lambda d: fallen)
    [outcome] = publish(world, [DAY], "run-d")

    assert outcome.status == "applied"
    lifted = rows(
        world,
        "select count(*) from risk.enforcement_decisions where previous_decision = 'block' and decision <> 'block'",
    )
    assert lifted == [(0,)]
    still = rows(
        world,
        f"select count(*) from risk.enforcement_sync where decision = 'block'"
        f" and account_id in ({', '.join('?' * len(blocked))})",
        blocked,
    )
    assert still == [(len(blocked),)]


def test_a_reinstatement_by_appeal_lifts_the_block_and_the_history_names_it(world):
    blocked, fallen = _blocked_then_falling(world)
    appealed, by_rule = blocked[0], blocked[1]
    with duckdb.connect(str(world.path)) as con:
        for action_id, account, source in (("act-1", appealed, "appeal"), ("act-2", by_rule, "rule")):
            at = datetime.combine(DAY, datetime.min.time()) + timedelta(hours=9)
            con.execute(
                "insert into staging.stg_marketplace__enforcement_actions"
                " values (?, ?, ?, 'reinstate', 'none', ?, ?, ?)",
                [action_id, account, at, source, at, at],
            )

    score_days(world, [DAY], "run-d", lambda d: fallen)
    publish(world, [DAY], "run-d")

    history = rows(
        world,
        "select account_id, decision, change_reason from risk.enforcement_decisions"
        " where previous_decision = 'block' and decision <> 'block'",
    )
    assert history == [(appealed, "none", f"reinstate act-1 (appeal) at {DAY} 09:00")]  # a rule is not a person


def test_a_lift_recorded_in_vigil_by_a_named_person_lifts_the_block_on_the_next_day_applied(world):
    blocked, fallen = _blocked_then_falling(world)
    lifted, kept = blocked[0], blocked[1]
    # Recorded during DAY (before its end): it applies when DAY is applied.
    at = datetime.combine(DAY, datetime.min.time()) + timedelta(hours=15)
    record_lifts(world, [lifted], "a.reviewer", "bad data day 2026-03-10, ticket 42", at)

    score_days(world, [DAY], "run-d", lambda d: fallen)
    publish(world, [DAY], "run-d")

    history = rows(
        world,
        "select account_id, decision, change_reason from risk.enforcement_decisions"
        " where previous_decision = 'block' and decision <> 'block'",
    )
    assert history == [
        (lifted, "none", f"lifted in Vigil by a.reviewer at {DAY} 15:00: bad data day 2026-03-10, ticket 42")
    ]
    assert rows(world, "select decision from risk.enforcement_sync where account_id = ?", [kept]) == [("block",)]


def test_a_lift_without_a_reason_or_of_an_account_not_blocked_is_refused_and_writes_nothing(world):
    blocked, _ = _blocked_then_falling(world)
    not_blocked = next(a for a in accounts(world) if a not in blocked)
    at = datetime.combine(DAY, datetime.min.time())
    with pytest.raises(ValueError, match="a reason"):
        record_lifts(world, [blocked[0]], "a.reviewer", "  ", at)
    with pytest.raises(ValueError, match="not blocked"):
        record_lifts(world, [blocked[0], not_blocked], "a.reviewer", "appeal upheld", at)
    assert rows(world, "select count(*) from risk.block_lifts") == [(0,)]
