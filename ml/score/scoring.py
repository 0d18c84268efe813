"""Score one as-of day of accounts: calibrated probability, policy band, top reasons."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ml.policy import DecisionPolicy
from ml.score.reasons import reason_codes_for
from ml.score.schema import REASON_COLUMNS, REASON_SLOTS, SCORES_COLUMNS
from ml.train.model import RiskModel


def score_accounts(
    features: pd.DataFrame,
    model: RiskModel,
    policy: DecisionPolicy,
    *,
    model_name: str,
    model_version: str,
    feature_version: str,
    scored_at: datetime,
    run_id: str,
    with_reasons: bool = True,
) -> pd.DataFrame:
    """One row per account of `features` (one as-of day or more), in the scores table's shape.

    Reasons are the top positive TreeSHAP contributors of each account's raw score; without
    them (`with_reasons=False`) the reason columns are null.
    """
    missing = [f for f in model.features if f not in features.columns]
    if missing:
        raise ValueError(f"the feature frame lacks {len(missing)} model features: {missing[:10]}")
    duplicated = features.duplicated(["account_id", "as_of_date"])
    if duplicated.any():
        raise ValueError(f"{int(duplicated.sum())} duplicated account-days in the feature frame")
    values = features[model.features].astype("float64")
    probability = model.predict_proba(values) if len(values) else np.empty(0)
    if not np.isfinite(probability).all():
        raise ValueError(f"{int((~np.isfinite(probability)).sum())} non-finite scores: refusing to write them")
    scores = pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(),
            "as_of_date": pd.to_datetime(features["as_of_date"]).dt.date.to_numpy(),
            "score": probability,
            "band": policy.band(probability),
        },
        index=features.index,
    )
    if with_reasons and len(values):
        reasons = reason_codes_for(model.contributions(values), values, REASON_SLOTS)
        scores = scores.join(reasons[[name for name, _ in REASON_COLUMNS]])
    else:
        for name, _ in REASON_COLUMNS:
            scores[name] = None
    scores["model_name"] = model_name
    scores["model_version"] = model_version
    scores["feature_version"] = feature_version
    scores["scored_at"] = scored_at  # naive UTC, as every warehouse timestamp
    scores["run_id"] = run_id
    return scores[[name for name, _ in SCORES_COLUMNS]].reset_index(drop=True)
