"""The model never lifts a block: only a person does (a reinstatement after the block took
effect), and the decision history says which action lifted it."""

from datetime import datetime, timedelta

import duckdb
import pytest

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
