from datetime import date
from pathlib import Path

import duckdb

from ml.train.dataset import load_labelled_snapshots, model_feature_columns
from ml.warehouse.duckdb_engine import DuckDBWarehouse

MARTS_YML = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "_marts__models.yml"


def test_model_features_come_from_the_catalog_and_exclude_keys_and_codes():
    columns = model_feature_columns(MARTS_YML)

    assert len(columns) >= 50
    assert "account_id" not in columns and "as_of_date" not in columns
    assert "country_code" not in columns  # an ISO code, not a model input
    assert "orders_placed_7d" in columns and "linked_group_size" in columns


def test_only_final_labels_are_loaded_and_days_are_sampled(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_account_features_daily as"
            " select 'a' || (i % 3) as account_id, date '2026-01-01' + cast(i // 3 as integer) as as_of_date,"
            " cast(i as double) as orders_placed_7d, i % 2 = 0 as is_seller"
            " from range(0, 60) as t(i)"
        )
        con.execute(
            "create table marts.fct_account_labels_daily as"
            " select account_id, as_of_date, as_of_date < date '2026-01-15' as is_label_final,"
            " case when as_of_date < date '2026-01-15' then account_id = 'a1' end as is_bad,"
            " cast(null as varchar) as bad_abuse_type"
            " from marts.fct_account_features_daily"
        )

    frame = load_labelled_snapshots(DuckDBWarehouse(path, read_only=True), ["orders_placed_7d", "is_seller"], 7)

    assert frame["as_of_date"].max().date() < date(2026, 1, 15)
    assert frame["as_of_date"].dt.date.nunique() == 2  # 14 final days, one in seven
    assert frame["is_bad"].isna().sum() == 0
    assert set(frame.loc[frame["is_bad"], "account_id"]) == {"a1"}
    assert frame["is_seller"].dtype == "float64"
