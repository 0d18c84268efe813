"""Synthetic scores and the sync loop of the `risk/enforcement_sync` asset, for the reverse-ETL
tests: the sync table is built by the real `ml.score` functions (diff_sync + apply_sync) on a
DuckDB warehouse, without training or scoring a model."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from ml.score import store
from ml.score.schema import REASON_SLOTS
from ml.score.sync import diff_sync
from ml.warehouse import Warehouse

BAND_SCORE = {"allow": 0.05, "review": 0.45, "block": 0.9}


def synthetic_scores(day: date, bands: dict[str, str], seed: int) -> pd.DataFrame:
    """One as-of day of scores (the columns scoring writes) for `bands`: account -> band."""
    rng = np.random.default_rng(seed)
    accounts = sorted(bands)
    frame = pd.DataFrame(
        {
            "account_id": accounts,
            "as_of_date": day,
            "score": [BAND_SCORE[bands[a]] + rng.uniform(0, 0.05) for a in accounts],
            "band": [bands[a] for a in accounts],
            "group_id": None,
            "model_name": "vigil_account_risk",
            "model_version": "1",
            "feature_version": "fct_account_features_daily@synthetic",
            "scored_at": datetime(2026, 1, 1),
            "run_id": f"score-{day}",
        }
    )
    for slot in range(1, REASON_SLOTS + 1):
        frame[f"reason_code_{slot}"] = np.where(frame["band"] == "allow", None, f"code_{slot}")
        frame[f"reason_text_{slot}"] = np.where(frame["band"] == "allow", None, f"reason {slot}, with a comma")
    return frame


def sync_day(warehouse: Warehouse, day: date, now: datetime, run_id: str) -> int | None:
    """What the enforcement_sync asset does for one day: skip days before the watermark, else
    diff the day's scores against the sync table and apply. Returns the rows changed (None when
    skipped); raises, applying nothing, when diff_sync refuses the day."""
    state = store.read_sync(warehouse)
    if state.last_day is not None and day < state.last_day:
        return None
    scores = store.read_scores(warehouse, day)
    diff = diff_sync(state.current, scores, day, now, run_id)
    store.apply_sync(warehouse, diff, day, len(scores), now, run_id, state)
    return diff.changed


def score_and_sync(warehouse: Warehouse, day: date, bands: dict[str, str], now: datetime, seed: int) -> int | None:
    store.replace_scores(warehouse, day, synthetic_scores(day, bands, seed))
    return sync_day(warehouse, day, now, run_id=f"run-{day}-{seed}")


def sync_table(warehouse: Warehouse) -> pd.DataFrame:
    with warehouse.session() as session:
        return session.fetch_arrow("select * from risk.enforcement_sync order by sync_key").to_pandas()
