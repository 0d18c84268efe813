"""The review-queue page: read as of the day from the warehouse (items highest first, recent
scores, decision history, linked accounts with their own status, publication and drift status),
rendered as one self-contained page in which every value is escaped."""

import dataclasses
import re
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from ml.monitor.queue import NoScoresError, read_queue
from ml.monitor.report_html import anchor, render, write_report
from ml.score import store
from ml.score.schema import CHECKS_TABLE, DECISIONS_TABLE, SCORES_COLUMNS, SCORES_TABLE, SYNC_RUNS_TABLE
from ml.warehouse.duckdb_engine import DuckDBWarehouse

DAY = date(2026, 9, 30)
HOSTILE = '<img src=x onerror=alert(1)>"'
HOSTILE_REASON = '<script>alert("x")</script> & 5 cards'
NOW = datetime(2026, 10, 1, 2, 0)
# account -> (score, band) on DAY; earlier days score lower
TODAY = {"acct_a": (0.91, "block"), HOSTILE: (0.52, "review"), "acct_b": (0.31, "review"), "acct_c": (0.02, "allow")}
GROUP = "group_acct_a"  # acct_a and acct_b share a device: one linked group


def _scores(day: date, scale: float, run: str) -> pd.DataFrame:
    rows = []
    for account, (score, band) in TODAY.items():
        row = {
            "account_id": account,
            "as_of_date": day,
            "score": score * scale,
            "band": band if scale == 1 else "allow",
            "group_id": GROUP if account in ("acct_a", "acct_b") else None,
        }
        row |= {f"reason_code_{i}": None for i in (1, 2, 3)} | {f"reason_text_{i}": None for i in (1, 2, 3)}
        if band != "allow" and scale == 1:
            row |= {
                "reason_code_1": "CARDS_ADDED",
                "reason_text_1": HOSTILE_REASON if account == HOSTILE else "5 cards",
            }
        rows.append(
            row | {"model_name": "m", "model_version": "3", "feature_version": "f", "scored_at": NOW, "run_id": run}
        )
    return pd.DataFrame(rows)[[name for name, _ in SCORES_COLUMNS]]


@pytest.fixture
def warehouse(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    store.prepare(wh)
    with wh.session() as session:
        for offset, scale in ((2, 0.5), (1, 0.8), (0, 1.0)):
            day = DAY - timedelta(days=offset)
            session.append_arrow(
                "risk", SCORES_TABLE, store.to_arrow(_scores(day, scale, f"run-{offset}"), SCORES_TABLE)
            )
        decisions = pd.DataFrame(
            [
                {"account_id": "acct_a", "as_of_date": DAY - timedelta(days=5), "decision": "review"},
                {"account_id": "acct_a", "as_of_date": DAY, "decision": "block", "previous_decision": "review"},
                {"account_id": "acct_c", "as_of_date": DAY - timedelta(days=9), "decision": "block"},
                {"account_id": "acct_a", "as_of_date": DAY + timedelta(days=1), "decision": "none"},  # after the day
            ]
        )
        for column, _ in store.TABLE_COLUMNS[DECISIONS_TABLE]:
            if column not in decisions:
                decisions[column] = None
        decisions = decisions.assign(change_reason="model", decided_at=NOW, sync_seq=range(1, 5), run_id="s")
        session.append_arrow("risk", DECISIONS_TABLE, store.to_arrow(decisions, DECISIONS_TABLE))
        checks = pd.DataFrame(
            {
                "as_of_date": DAY,
                "run_id": "run-0",
                "check_name": ["features_arriving", "drift.features", "volume.orders"],
                "passed": [True, False, True],
                "severity": ["error", "warn", "error"],
                "statistic": [0.0, 0.31, 1.0],
                "detail": ["all 85 model features vary", "1 of 85 features with PSI >= 0.1: spend_usd_7d 0.310", "ok"],
                "checked_at": NOW,
            }
        )
        session.append_arrow("risk", CHECKS_TABLE, store.to_arrow(checks, CHECKS_TABLE))
        run = pd.DataFrame(
            [
                {
                    "as_of_date": DAY,
                    "applied_at": NOW,
                    "accounts_scored": 4,
                    "changed": 2,
                    "tombstoned": 0,
                    "run_id": "run-0",
                    "scores_run_id": "run-0",
                }
            ]
        )
        session.append_arrow("risk", SYNC_RUNS_TABLE, store.to_arrow(run, SYNC_RUNS_TABLE))
    with duckdb.connect(str(wh.path)) as con:
        con.execute("create schema intermediate")
        con.execute(
            """create table intermediate.int_account_links as select * from (values
                ('acct_a', 'acct_b', 'device', date '2026-09-01', date '9999-12-31'),
                ('acct_a', 'acct_c', 'card', date '2026-09-10', date '9999-12-31'),
                ('acct_a', 'acct_c', 'strong', date '2026-09-10', date '9999-12-31'),
                ('acct_a', 'acct_gone', 'ip', date '2026-08-01', date '2026-09-15'),
                ('acct_a', 'acct_later', 'ip', date '2026-10-01', date '9999-12-31')
            ) as t(account_id, linked_account_id, link_type, linked_from, linked_until)"""
        )
    return wh


def test_the_queue_holds_review_and_block_items_highest_first_as_of_the_day(warehouse):
    queue = read_queue(warehouse, DAY)

    assert [i.account_id for i in queue.items] == ["acct_a", HOSTILE, "acct_b"]
    top = queue.items[0]
    assert [round(h.score, 3) for h in top.history] == [0.455, 0.728, 0.91]
    assert [d.decision for d in top.decisions] == ["review", "block"]  # not the later `none`
    assert queue.publication.status == "published"
    assert queue.band_counts == {"allow": 1, "review": 2, "block": 1}


def test_a_rules_review_comes_first_whatever_its_score(warehouse):
    # The policy counts a rule's reviews first against the capacity: the reviewer sees them first.
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(
            f"update risk.{SCORES_TABLE} set band = 'review', reason_code_1 = 'RING_SIGNUPS',"
            " reason_text_1 = '4 accounts ...' where account_id = 'acct_c' and as_of_date = ?",
            [DAY],
        )

    queue = read_queue(warehouse, DAY)

    assert [i.account_id for i in queue.items] == ["acct_c", "acct_a", HOSTILE, "acct_b"]
    assert queue.items[0].reasons[0][0] == "RING_SIGNUPS" and queue.items[0].score == 0.02


def test_flagged_members_of_one_linked_group_are_one_work_item_at_its_best_members_place(warehouse):
    queue = read_queue(warehouse, DAY)

    work = queue.work_items
    assert [[m.account_id for m in w.members] for w in work] == [["acct_a", "acct_b"], [HOSTILE]]
    assert [w.group_id for w in work] == [GROUP, None]
    assert work[0].score == 0.91 and work[0].shared_link_types == ("device",)
    page = render(queue)
    assert f'data-group="{GROUP}" data-members="2"' in page
    assert "2 items to work, 1 of them linked groups of 2 accounts" in page
    assert "Shared between them: device." in page


def test_a_group_with_one_flagged_member_is_an_ordinary_item(warehouse):
    queue = read_queue(warehouse, DAY)
    alone = dataclasses.replace(queue, items=tuple(i for i in queue.items if i.account_id != "acct_b"))

    assert [w.group_id for w in alone.work_items] == [None, None]
    assert "data-group" not in render(alone)


def test_linked_accounts_that_held_on_the_day_come_with_their_own_status(warehouse):
    linked = {la.account_id: la for la in read_queue(warehouse, DAY).items[0].linked}

    assert set(linked) == {"acct_b", "acct_c"}  # not a link that ended, nor one that began later
    assert linked["acct_b"].in_queue and linked["acct_b"].band == "review"
    assert not linked["acct_c"].in_queue and linked["acct_c"].decision == "block"
    assert linked["acct_c"].link_types == ("card",)  # `strong` is shown only on its own


def test_the_page_escapes_every_value_and_fetches_nothing(warehouse):
    page = render(read_queue(warehouse, DAY))

    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 5 cards" in page
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert f'href="#{anchor("acct_b")}"' in page and f'id="{anchor("acct_b")}"' in page
    assert anchor(HOSTILE).startswith("acct-h") and re.fullmatch(r"acct-h[0-9a-f]{16}", anchor(HOSTILE))


def test_the_page_shows_drift_and_publication_status(warehouse):
    page = render(read_queue(warehouse, DAY))

    assert "spend_usd_7d 0.310" in page and "published" in page
    assert "1 of 1 publication checks passed" in page  # features_arriving and drift.* shown apart


def test_a_missing_link_graph_is_said_on_the_page_not_a_failure(warehouse, tmp_path):
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("drop table intermediate.int_account_links")

    queue = read_queue(warehouse, DAY)
    path = write_report(queue, tmp_path / "reports")

    assert any("int_account_links not found" in note for note in queue.notes)
    assert all(item.linked == () for item in queue.items)
    assert path.name == f"review_queue_{DAY}.html" and "int_account_links not found" in path.read_text()


def test_a_day_without_scores_is_refused(warehouse):
    with pytest.raises(NoScoresError, match="no scores for 2026-10-05"):
        read_queue(warehouse, date(2026, 10, 5))
