"""The labelled training frame: final-labelled feature snapshots from the warehouse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ml.warehouse import Warehouse

FEATURES_TABLE = "marts.fct_account_features_daily"
LABELS_TABLE = "marts.fct_account_labels_daily"
KEY_COLUMNS = ("account_id", "as_of_date")
# Numeric units from the feature catalog (dbt yml meta); others (iso2 codes, keys) are not
# model inputs.
MODEL_UNITS = {"count", "usd", "days", "hours", "share_0_1", "ratio", "boolean"}


def model_feature_columns(marts_yml: Path, model: str = "fct_account_features_daily") -> list[str]:
    """Feature columns a model may use, in catalog order, from the mart's yml `meta.unit`."""
    spec = yaml.safe_load(marts_yml.read_text())
    node = next(m for m in spec["models"] if m["name"] == model)
    columns = []
    for column in node["columns"]:
        meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
        if column["name"] not in KEY_COLUMNS and meta.get("unit") in MODEL_UNITS:
            columns.append(column["name"])
    return columns


def load_labelled_snapshots(warehouse: Warehouse, features: list[str], every_n_days: int = 7) -> pd.DataFrame:
    """Snapshots whose label is final, one as-of day in `every_n_days` per account.

    Consecutive days of one account are near-duplicates; sampling every n-th day keeps the
    frame small without favouring any weekday. Pending labels are never included: an
    immature snapshot is not a good one.
    """
    selected = ", ".join(f"f.{c}" for c in features)
    sql = f"""
        select f.account_id, f.as_of_date, {selected}, l.is_bad, l.bad_abuse_type
        from {FEATURES_TABLE} as f
        inner join {LABELS_TABLE} as l
            on l.account_id = f.account_id and l.as_of_date = f.as_of_date
        where l.is_label_final
    """
    with warehouse.session() as session:
        frame = session.fetch_arrow(sql).to_pandas()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    day_number = (frame["as_of_date"] - pd.Timestamp("2000-01-01")).dt.days
    frame = frame[day_number % every_n_days == 0]
    frame["is_bad"] = frame["is_bad"].astype(bool)
    for column in features:
        if frame[column].dtype == bool or frame[column].dtype == object:
            frame[column] = frame[column].astype("float64")
    return frame.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
