"""Leakage safety: features for day D are identical whether computed on the full history or
on the data as it existed at the end of D (cut by event time and by _loaded_at)."""

import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from ml.contract import TABLES
from tests.dbt.conftest import run_dbt

AS_OF = date(2026, 3, 10)
BUILD = ["build", "--select", "+fct_account_features_daily", "--resource-type", "model", "--resource-type", "seed"]


def _vars(start: date, end: date) -> list[str]:
    return ["--vars", f"{{min_date: '{start}', max_date: '{end}'}}"]


def _build(path, tmp, start: date, end: date) -> None:
    done = run_dbt([*BUILD, *_vars(start, end)], tmp, {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"})
    assert done.returncode == 0, done.stdout[-4000:]


def _features(path, day: date) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(
            "select * from marts.fct_account_features_daily where as_of_date = ? order by account_id", [day]
        ).df()
    return frame.reset_index(drop=True)


def _truncate_to_end_of(path, day: date) -> None:
    """Keep only what existed at the end of `day`: loaded by then, and happened by then."""
    cut = day + timedelta(days=1)
    with duckdb.connect(str(path)) as con:
        for table in TABLES.values():
            con.execute(f"delete from raw.{table.name} where _loaded_at >= ? or {table.event_time} >= ?", [cut, cut])


@pytest.fixture(scope="module")
def full_and_truncated(ingested_duckdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pit")
    full, truncated = tmp / "full.duckdb", tmp / "truncated.duckdb"
    shutil.copy(ingested_duckdb, full)
    shutil.copy(ingested_duckdb, truncated)
    _build(full, tmp / "full", AS_OF - timedelta(days=2), AS_OF + timedelta(days=2))
    _truncate_to_end_of(truncated, AS_OF)
    _build(truncated, tmp / "truncated", AS_OF, AS_OF)
    return full, truncated, tmp


def test_features_for_a_past_day_do_not_change_when_later_data_is_removed(full_and_truncated):
    full, truncated, _ = full_and_truncated
    on_full, on_truncated = _features(full, AS_OF), _features(truncated, AS_OF)

    assert len(on_full) > 500
    # The comparison is only meaningful if the day carries signal.
    assert on_full["orders_placed_30d"].sum() > 0 and on_full["linked_accounts"].sum() > 0
    pd.testing.assert_frame_equal(on_full, on_truncated, check_dtype=False)


def test_later_data_does_change_later_days(full_and_truncated):
    """The cut is real: the day after D differs between the two warehouses (or is absent)."""
    full, truncated, _ = full_and_truncated
    with duckdb.connect(str(truncated), read_only=True) as con:
        kept_after = con.execute(
            "select count(*) from raw.orders where _loaded_at >= ?", [AS_OF + timedelta(days=1)]
        ).fetchone()[0]
    with duckdb.connect(str(full), read_only=True) as con:
        later = con.execute(
            "select count(*) from raw.orders where _loaded_at >= ?", [AS_OF + timedelta(days=1)]
        ).fetchone()[0]
    assert kept_after == 0 < later


def test_rebuilding_a_day_replaces_it_with_identical_rows(full_and_truncated):
    full, _, tmp = full_and_truncated
    before = _features(full, AS_OF)
    with duckdb.connect(str(full), read_only=True) as con:
        days_before = con.execute(
            "select as_of_date, count(*) from marts.fct_account_features_daily group by 1 order by 1"
        ).fetchall()

    _build(full, tmp / "rerun", AS_OF, AS_OF)

    pd.testing.assert_frame_equal(before, _features(full, AS_OF))
    with duckdb.connect(str(full), read_only=True) as con:
        days_after = con.execute(
            "select as_of_date, count(*) from marts.fct_account_features_daily group by 1 order by 1"
        ).fetchall()
    assert days_after == days_before  # no duplicates, no gaps, other days untouched
