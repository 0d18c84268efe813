from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.train.dataset import (
    frame_fingerprint,
    labelled_history,
    load_labelled_snapshots,
    model_feature_columns,
    sampled_days,
)
from ml.train.split import OutOfTimeSplit
from ml.warehouse.duckdb_engine import DuckDBWarehouse

MARTS_YML = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "_marts__models.yml"


def test_model_features_come_from_the_catalog_and_exclude_keys_and_codes():
    columns = model_feature_columns(MARTS_YML)

    assert len(columns) >= 50
    assert "account_id" not in columns and "as_of_date" not in columns
    assert "country_code" not in columns  # an ISO code, not a model input
    assert "orders_placed_7d" in columns and "linked_group_size" in columns
    # Columns kept for the rules only (meta `model_input: false`) are not model inputs.
    assert "bids_on_linked_sellers_30d" in columns and "bids_on_linked_sellers_90d" not in columns


def _warehouse(tmp_path, days: int = 60, first_pending: str = "2026-02-20"):
    """Three accounts over `days` days; labels final before `first_pending`, except that
    account a1's (bad) labels are final early, as confirmed chargebacks are."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_account_features_daily as"
            " select 'a' || (i % 3) as account_id, date '2026-01-01' + cast(i // 3 as integer) as as_of_date,"
            " cast(i as double) as orders_placed_7d, i % 2 = 0 as is_seller, 'DE' as country_code"
            f" from range(0, {days * 3}) as t(i)"
        )
        con.execute(
            "create table marts.fct_account_labels_daily as"
            f" select account_id, as_of_date, as_of_date < date '{first_pending}' or account_id = 'a1'"
            " as is_label_final,"
            f" case when as_of_date < date '{first_pending}' or account_id = 'a1' then account_id = 'a1' end"
            " as is_bad, cast(null as varchar) as bad_abuse_type"
            " from marts.fct_account_features_daily"
        )
    return DuckDBWarehouse(path, read_only=True)


SPLIT = OutOfTimeSplit(
    train_start=date(2026, 1, 1),
    train_end=date(2026, 1, 28),
    validation_start=date(2026, 1, 31),
    validation_end=date(2026, 2, 6),
    test_start=date(2026, 2, 10),
    test_end=date(2026, 2, 19),
    gap_days=2,
)


def test_labelled_history_ends_before_the_first_pending_label(tmp_path):
    # a1's early-final bad labels run past 2026-02-19 but would over-represent bad accounts.
    assert labelled_history(_warehouse(tmp_path)) == (date(2026, 1, 1), date(2026, 2, 19))


def test_an_empty_label_table_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="build features and labels first"):
        labelled_history(_warehouse(tmp_path, days=0))


def test_blocks_are_loaded_with_final_labels_sampled_training_days_and_no_gap_days(tmp_path):
    frame = load_labelled_snapshots(
        _warehouse(tmp_path), ["orders_placed_7d", "is_seller"], SPLIT, 7, ("country_code",)
    )

    days = {b: set(frame.loc[frame["block"] == b, "as_of_date"].dt.date) for b in ("train", "validation", "test")}
    assert days["train"] == set(sampled_days(SPLIT.train_start, SPLIT.train_end, 7)) and len(days["train"]) == 4
    assert len(days["validation"]) == 7 and len(days["test"]) == 10  # every day
    assert set(frame["block"]) == {"train", "validation", "test"}  # gap days are not read
    assert frame["is_bad"].isna().sum() == 0
    assert set(frame.loc[frame["is_bad"], "account_id"]) == {"a1"}
    assert frame["is_seller"].dtype == "float64" and set(frame["country_code"]) == {"DE"}


def test_sampled_days_do_not_depend_on_the_block_start():
    from_first = sampled_days(date(2026, 1, 1), date(2026, 1, 31), 7)
    from_third = sampled_days(date(2026, 1, 3), date(2026, 1, 31), 7)
    assert from_third == [d for d in from_first if d >= date(2026, 1, 3)]
    assert len(from_first) in (4, 5) and {(b - a).days for a, b in zip(from_first, from_first[1:], strict=False)} == {7}


def test_the_fingerprint_changes_with_any_value_and_not_otherwise():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["x", "y", "z"]})
    assert frame_fingerprint(frame) == frame_fingerprint(frame.copy())
    changed = frame.copy()
    changed.loc[2, "a"] = 0.0
    assert frame_fingerprint(changed) != frame_fingerprint(frame)
    assert frame_fingerprint(frame.rename(columns={"b": "c"})) != frame_fingerprint(frame)
