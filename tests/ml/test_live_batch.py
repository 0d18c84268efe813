"""Which accounts a near-real-time batch re-scores, and how its scores are written."""

from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from ml.live import batch as live
from ml.live import escalate
from ml.score.schema import INTRADAY_SCORES_COLUMNS
from ml.warehouse.duckdb_engine import DuckDBWarehouse

DAY = date(2026, 8, 31)
BEFORE, FIRST_LOAD, LATER = datetime(2026, 8, 31, 1), datetime(2026, 8, 31, 12), datetime(2026, 8, 31, 13)


@pytest.fixture
def warehouse(vigil_env, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate; create schema ingest")
        con.execute(
            "create table intermediate.int_account_changes as select * from (values"
            " ('old', date '2026-08-30', timestamp '2026-08-31 01:00:00'),"
            " ('a', date '2026-08-31', timestamp '2026-08-31 12:00:00'),"
            " ('b', date '2026-08-29', timestamp '2026-08-31 12:00:00'))"
            " as t(account_id, changed_from, _ingested_through)"
        )
        con.execute(
            "create table intermediate.int_account_links as select * from (values"
            # a's links: one holding on the day, one ended before it, one starting after it.
            " ('a', 'linked', 'device', date '2026-08-01', date '9999-12-31'),"
            " ('a', 'ended', 'ip', date '2026-08-01', date '2026-08-31'),"
            " ('a', 'later', 'card', date '2026-09-01', date '9999-12-31'),"
            " ('old', 'not_touched', 'device', date '2026-08-01', date '9999-12-31'))"
            " as t(account_id, linked_account_id, link_type, linked_from, linked_until)"
        )
        con.execute(
            "create table ingest.file_ledger as select * from (values"
            " ('logins/x.csv', 'logins', 'loaded', timestamp '2026-08-31 12:00:00', 'run-1', null, 40, 2),"
            " ('orders/y.csv', 'orders', 'rejected', timestamp '2026-08-31 12:00:00', 'run-1', 'bad header', 0, 0))"
            " as t(file_path, table_name, status, ingested_at, run_id, reason, rows_loaded, rows_quarantined)"
        )
    warehouse = DuckDBWarehouse(path)
    with warehouse.session() as session:
        live.prepare(session)
    return warehouse


def test_touched_accounts_are_the_changes_since_and_their_links_holding_on_the_day(warehouse):
    with warehouse.session() as session:
        assert live.touched_accounts(session, BEFORE, DAY) == ["a", "b", "linked"]
        assert live.touched_accounts(session, datetime(2026, 8, 31), DAY) == ["a", "b", "linked", "not_touched", "old"]
        assert live.touched_accounts(session, LATER, DAY) == []


def test_the_first_batch_starts_after_the_newest_change_before_its_run_and_takes_the_newest_day(warehouse):
    with warehouse.session() as session:
        planned = live.plan_batch(session, "run-1")
        assert (planned.since, planned.cut_off, planned.as_of_date) == (BEFORE, FIRST_LOAD, DAY)
        assert planned.accounts == ("a", "b", "linked")
        loaded = escalate.read_batch_input(session, "run-1")
        assert (list(loaded.loaded), dict(loaded.tables)) == (["logins/x.csv"], {"logins": (40, 2)})
        assert list(loaded.rejected) == [("orders/y.csv", "bad header")]
        # A run that loaded nothing has nothing to re-score: its batch starts from the mark.
        empty = live.plan_batch(session, "run-2")
        assert (empty.accounts, empty.since, empty.cut_off) == ((), FIRST_LOAD, FIRST_LOAD)


def _scores(batch_id: str, account: str, cut_off: datetime) -> pd.DataFrame:
    row = dict.fromkeys((name for name, _ in INTRADAY_SCORES_COLUMNS), None) | {
        "batch_id": batch_id,
        "account_id": account,
        "as_of_date": DAY,
        "score": 0.1,
        "band": "allow",
        "features_ingested_through": cut_off,
        "trigger_files": "logins/x.csv",
    }
    return pd.DataFrame([row])


def test_later_batches_start_at_the_last_recorded_cut_off_even_an_empty_one(warehouse):
    # A batch that scored nothing still records where it stopped: run-1's own changes (logged
    # at FIRST_LOAD) are not re-scored by the batches after it.
    live.record_batch(warehouse, live.Batch("run-0", None, BEFORE, FIRST_LOAD, ()), live.no_scores(), [], LATER)
    with warehouse.session() as session:
        assert live.plan_batch(session, "run-1").accounts == ()
        assert live.last_cut_off(session) == FIRST_LOAD
    with pytest.raises(ValueError, match="already recorded"):
        live.record_batch(warehouse, live.Batch("run-0", None, BEFORE, FIRST_LOAD, ()), live.no_scores(), [], LATER)


def test_scores_and_their_batch_are_written_together_and_must_match_its_cut_off(warehouse):
    batch = live.Batch("run-3", DAY, BEFORE, FIRST_LOAD, ("a",))
    with pytest.raises(ValueError, match="cut off at"):
        live.record_batch(warehouse, batch, _scores("run-3", "a", LATER), ["logins/x.csv"], LATER)
    live.record_batch(warehouse, batch, _scores("run-3", "a", FIRST_LOAD), ["logins/x.csv"], LATER)
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        assert con.execute("select batch_id, account_id from risk.intraday_scores").fetchall() == [("run-3", "a")]
        assert con.execute(
            "select accounts_touched, accounts_scored, trigger_files from risk.intraday_batches"
        ).fetchall() == [(1, 1, "logins/x.csv")]


@pytest.mark.parametrize("bad", ["x'; drop table t; --", "", "a" * 129])
def test_a_batch_id_the_dbt_model_would_refuse_is_refused_here(bad):
    with pytest.raises(ValueError, match="not a usable batch id"):
        live.batch_id_for(bad)


def _record_refused(warehouse, batch_id: str, since: datetime, cut_off: datetime, failed: list[str]) -> None:
    """A batch of DAY the gate refused, with its failed checks."""
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(
            "insert into risk.intraday_batches by name select ? as batch_id, ? as as_of_date, ? as since,"
            " ? as cut_off, 'refused: ' || ? as publication",
            [batch_id, DAY, since, cut_off, ", ".join(failed)],
        )
        for check in failed:
            con.execute(
                "insert into risk.publication_checks by name select ? as as_of_date, ? as run_id,"
                " ? as check_name, false as passed, 'error' as severity",
                [DAY, batch_id, check],
            )


def _daily_published(warehouse, day: date) -> None:
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("insert into risk.enforcement_sync_runs by name select ? as as_of_date", [day])


def test_batches_that_waited_for_the_daily_run_are_decided_again_once_it_has_published(warehouse):
    # run-0 took a, b and linked (changes at FIRST_LOAD) before the day before was published.
    _record_refused(warehouse, "run-0", BEFORE, FIRST_LOAD, ["intraday.daily_current"])
    with warehouse.session() as session:
        assert live.plan_batch(session, "run-1").accounts == ()  # still waiting: nothing new
    _daily_published(warehouse, date(2026, 8, 30))
    with warehouse.session() as session:
        planned = live.plan_batch(session, "run-1")
    assert (planned.since, planned.accounts) == (BEFORE, ("a", "b", "linked"))


def test_a_batch_refused_for_anything_else_is_not_decided_again(warehouse):
    _record_refused(warehouse, "run-0", BEFORE, FIRST_LOAD, ["intraday.daily_current", "intraday.rejected_files"])
    _daily_published(warehouse, date(2026, 8, 30))
    with warehouse.session() as session:
        assert live.plan_batch(session, "run-1").accounts == ()
