"""The near-real-time feature rows (fct_account_features_intraday): for a batch of accounts and
an as-of day, the same vector as the daily mart's row, column for column, with the cut-off the
tiles reflect; the daily mart is not touched."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.defs.dbt.invocation import feature_days_env
from tests.dbt.conftest import run_dbt

DAY = "2026-03-12"
META = ("batch_id", "features_ingested_through")
INTRADAY = "marts.fct_account_features_intraday"
CUT_OFF = f"select distinct features_ingested_through from {INTRADAY}"


BATCH_VARS = json.dumps({"feature_accounts": "scratch.some_accounts"})  # as ml.live.batch.intraday_dbt_vars


def _set_batch(path, batch_id: str) -> None:
    """The batch's accounts table, as ml/live/batch.py writes it: one batch at a time."""
    with duckdb.connect(str(path)) as con:
        con.execute("update scratch.some_accounts set batch_id = ?", [batch_id])


@pytest.fixture
def warehouse(full_build_copy):
    path = full_build_copy
    with duckdb.connect(str(path)) as con:
        # Every 7th account active on the day, among them sellers, new and linked accounts.
        con.execute("create schema scratch")
        con.execute(
            "create table scratch.some_accounts as select distinct cast(null as varchar) as batch_id, account_id"
            " from marts.fct_account_features_daily where as_of_date = ? and hash(account_id) % 7 = 0",
            [DAY],
        )
    return path


def _run(tmp_path, path, variables: str = BATCH_VARS, first: str | None = DAY, last: str | None = DAY):
    """The batch's dbt command as the near-real-time asset runs it: the day in the environment."""
    days = feature_days_env(first, last) if first and last else {}
    return run_dbt(
        ["run", "--select", "fct_account_features_intraday", "--vars", variables],
        tmp_path,
        {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local", **days},
    )


def test_intraday_rows_equal_the_daily_mart_rows_column_for_column(warehouse, tmp_path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (mart_rows_before,) = con.execute("select count(*) from marts.fct_account_features_daily").fetchone()
        # The full build ran the model without a batch: it added nothing.
        assert con.execute(f"select count(*) from {INTRADAY}").fetchone() == (0,)

    _set_batch(warehouse, "batch-1")
    done = _run(tmp_path, warehouse)

    assert done.returncode == 0, done.stdout[-5000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart_columns = [r[0] for r in con.execute("describe marts.fct_account_features_daily").fetchall()]
        intraday_columns = [r[0] for r in con.execute("describe marts.fct_account_features_intraday").fetchall()]
        assert intraday_columns == [*META, *mart_columns]
        columns = ", ".join(f'"{c}"' for c in mart_columns)
        accounts = "select account_id from scratch.some_accounts"
        daily = (
            f"select {columns} from marts.fct_account_features_daily"
            f" where as_of_date = '{DAY}' and account_id in ({accounts})"
        )
        intraday = f"select {columns} from {INTRADAY} where batch_id = 'batch-1'"
        (chosen,) = con.execute("select count(*) from scratch.some_accounts").fetchone()
        assert chosen > 30
        assert con.execute(f"select count(*) from ({intraday})").fetchone() == (chosen,)
        assert con.execute(f"select count(*) from ({daily} except all {intraday})").fetchone() == (0,)
        assert con.execute(f"select count(*) from ({intraday} except all {daily})").fetchone() == (0,)
        # The cut-off: the newest ingestion the build processed, here every raw row.
        (cut_off,) = con.execute(CUT_OFF).fetchone()
        newest = max(
            con.execute(f"select max(_ingested_at) from raw.{table}").fetchone()[0]
            for table in ("logins", "orders", "bids", "payment_methods", "accounts")
        )
        assert cut_off == newest
        assert con.execute("select count(*) from marts.fct_account_features_daily").fetchone() == (mart_rows_before,)

    # A second batch appends; the first one's rows stay as they were scored.
    _set_batch(warehouse, "batch-2")
    done = _run(tmp_path, warehouse)
    assert done.returncode == 0, done.stdout[-5000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(con.execute(f"select batch_id, count(*) from {INTRADAY} group by 1").fetchall())
        assert counts == {"batch-1": chosen, "batch-2": chosen}


@pytest.mark.parametrize(
    ("variables", "first"),
    [
        (BATCH_VARS, "2026-03-11"),  # two days
        (BATCH_VARS, None),  # no day
        (json.dumps({"feature_accounts": "scratch.some_accounts", "min_date": "2026-03-11"}), DAY),
    ],
)
def test_a_malformed_batch_is_refused_before_anything_runs(warehouse, tmp_path, variables, first):
    done = _run(tmp_path, warehouse, variables, first=first)

    assert done.returncode != 0
    assert "min_date = max_date" in done.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"select count(*) from {INTRADAY}").fetchone() == (0,)


def test_the_next_days_batch_reparses_nothing(warehouse, tmp_path):
    """The day is in the environment, not in the vars, and read only when a node runs: dbt's
    saved parse serves the next day's batch as it is, and the rows are the new day's."""
    _set_batch(warehouse, "batch-1")
    assert _run(tmp_path, warehouse).returncode == 0
    next_day = "2026-03-13"
    _set_batch(warehouse, "batch-2")
    (tmp_path / "logs" / "dbt.log").unlink()
    done = _run(tmp_path, warehouse, first=next_day, last=next_day)

    assert done.returncode == 0, done.stdout[-5000:]
    assert "Unable to do partial parsing" not in done.stdout
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed." in log
    assert "Partial parsing: updated file" not in log
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = dict(con.execute(f"select batch_id, max(as_of_date) from {INTRADAY} group by 1").fetchall())
        assert {batch: str(day) for batch, day in days.items()} == {"batch-1": DAY, "batch-2": next_day}

    # A new day in the vars instead would have parsed the whole project again.
    _set_batch(warehouse, "batch-3")
    day_in_vars = json.dumps({"feature_accounts": "scratch.some_accounts", "min_date": DAY, "max_date": DAY})
    done = _run(tmp_path, warehouse, day_in_vars, first=None)
    assert done.returncode == 0, done.stdout[-5000:]
    assert "Unable to do partial parsing because config vars" in done.stdout
