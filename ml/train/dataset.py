"""The labelled training frame: final-labelled feature snapshots from the warehouse."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ml import settings
from ml.features.catalog import load_feature_columns
from ml.train.split import OutOfTimeSplit
from ml.warehouse import Warehouse

FEATURES_MODEL = "fct_account_features_daily"
LABELS_MODEL = "fct_account_labels_daily"
KEY_COLUMNS = ("account_id", "as_of_date")
# Numeric units from the feature catalog (dbt yml meta); others (iso2 codes, keys) are not
# model inputs.
MODEL_UNITS = {"count", "usd", "days", "hours", "share_0_1", "ratio", "boolean"}


def marts_table(model: str) -> str:
    """A marts model's table on the current target (its schema follows the dbt target)."""
    return f"{settings.schema_name('marts')}.{model}"


def model_feature_columns(marts_yml: Path, model: str = "fct_account_features_daily") -> list[str]:
    """Feature columns a model may use, in catalog order, from the mart's yml (read and checked
    by the feature catalog): numeric units, not keys, and not `meta.model_input: false` (the
    columns kept for the rules only)."""
    return [
        column.name
        for column in load_feature_columns(marts_yml, model)
        if column.name not in KEY_COLUMNS and column.unit in MODEL_UNITS and column.model_input
    ]


def labelled_history(warehouse: Warehouse) -> tuple[date, date]:
    """First as-of day with a label, and the last day up to which *every* label is final.

    Bad labels can become final early (a confirmed chargeback), good ones only at maturity, so
    the days after the first pending label over-represent bad accounts: they are left out.
    """
    labels = marts_table(LABELS_MODEL)
    sql = f"""
        select
            min(as_of_date) as first_day,
            max(as_of_date) as last_day,
            min(case when not is_label_final then as_of_date end) as first_pending_day
        from {labels}
    """
    with warehouse.session() as session:
        row = session.fetch_arrow(sql).to_pylist()[0]
    if row["first_day"] is None:
        raise ValueError(f"{labels} is empty: build features and labels first")
    pending = row["first_pending_day"]
    last_complete = pending - timedelta(days=1) if pending else row["last_day"]
    if last_complete < row["first_day"]:
        raise ValueError(f"no as-of day of {labels} has final labels yet (first pending: {pending})")
    return row["first_day"], last_complete


def sampled_days(start: date, end: date, every_n_days: int) -> list[date]:
    """Every n-th day from `start` to `end` inclusive, anchored on a fixed epoch so that the
    sampled weekdays do not depend on where a block happens to start."""
    days = pd.date_range(start, end, freq="D")
    offsets = (days - pd.Timestamp("2000-01-01")).days
    return [d.date() for d in days[offsets % every_n_days == 0]]


def load_labelled_snapshots(
    warehouse: Warehouse,
    features: list[str],
    split: OutOfTimeSplit,
    train_every_n_days: int = 7,
    extra_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Final-labelled snapshots of the split's blocks, with a `block` column.

    Consecutive days of one account are near-duplicates, so training keeps one as-of day in
    `train_every_n_days`; validation and test keep every day, because capacity metrics are
    per day. Pending labels are never included: an immature snapshot is not a good one. Gap
    days are not read at all.
    """
    wanted = list(dict.fromkeys([*features, *extra_columns]))
    selected = ", ".join(f"f.{c}" for c in wanted)
    train_days = sampled_days(split.train_start, split.train_end, train_every_n_days)
    train_list = ", ".join(f"date '{d}'" for d in train_days) or "null"
    sql = f"""
        select f.account_id, f.as_of_date, {selected}, l.is_bad, l.bad_abuse_type
        from {marts_table(FEATURES_MODEL)} as f
        inner join {marts_table(LABELS_MODEL)} as l
            on l.account_id = f.account_id and l.as_of_date = f.as_of_date
        where l.is_label_final
            and (
                f.as_of_date in ({train_list})
                or f.as_of_date between date '{split.validation_start}' and date '{split.validation_end}'
                or f.as_of_date between date '{split.test_start}' and date '{split.test_end}'
            )
    """
    with warehouse.session() as session:
        frame = session.fetch_arrow(sql).to_pandas()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    frame["is_bad"] = frame["is_bad"].astype(bool)
    for column in features:
        if frame[column].dtype == bool or frame[column].dtype == object:
            frame[column] = frame[column].astype("float64")
    frame["block"] = split.block_of(frame["as_of_date"])
    return frame.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over column names and row hashes: equal frames (same rows, order and values)
    hash equal, so a logged model can be tied to the exact data it was trained on."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
