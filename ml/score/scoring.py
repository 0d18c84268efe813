"""Score one as-of day of accounts: calibrated probability, policy band, top reasons.

Reasons (TreeSHAP, by far the costliest step) are computed at scoring time only for accounts
in `REASON_BANDS`, those a reviewer or the product sees; every other account's reasons are
null in the scores table and `ml.score.explain` gives them on demand, from the stored feature
row and the model version that scored it, through the same `reasons_for`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

import numpy as np
import pandas as pd

from ml.policy import SIDE_COLUMN, DecisionPolicy
from ml.score.checks import BANDS
from ml.score.reasons import COMBINED_SIGNALS, reason_codes_for
from ml.score.rules import DAILY_RULES, Rule, apply_rules
from ml.score.schema import GROUP_COLUMN, REASON_COLUMNS, REASON_SLOTS
from ml.train.model import RiskModel, numeric_matrix

REASON_BANDS = ("review", "block")
REASON_NAMES = [name for name, _ in REASON_COLUMNS]
GROUP_OF_FEATURES = "linked_group_id"  # the mart's column that scoring carries as `group_id`


def check_feature_frame(features: pd.DataFrame, model: RiskModel) -> None:
    """Refuse a feature frame that lacks one of the model's features or repeats an account-day."""
    missing = [f for f in model.features if f not in features.columns]
    if missing:
        raise ValueError(f"the feature frame lacks {len(missing)} model features: {missing[:10]}")
    duplicated = features.duplicated(["account_id", "as_of_date"])
    if duplicated.any():
        raise ValueError(f"{int(duplicated.sum())} duplicated account-days in the feature frame")


def model_inputs(features: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """The model's features of each row as float64 (NaN unknown), after `check_feature_frame`."""
    check_feature_frame(features, model)
    return pd.DataFrame(numeric_matrix(features[model.features], np.float64), columns=model.features)


def reasons_for(values: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """The reason columns (codes and texts, table order) of each row of `values` (`model_inputs`).

    A row's reasons depend on that row and the model only (TreeSHAP explains each row on its
    own), so explaining a subset of a day gives exactly the reasons of explaining the whole day.
    A row none of whose values may be quoted gets `COMBINED_SIGNALS` as its first reason.
    """
    if values.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in REASON_NAMES}, index=values.index)
    reasons = reason_codes_for(model.contributions(values), values, REASON_SLOTS)[REASON_NAMES]
    unexplained = reasons["reason_code_1"].isna()
    reasons.loc[unexplained, ["reason_code_1", "reason_text_1"]] = COMBINED_SIGNALS
    return reasons


def as_of_dates(column: pd.Series) -> np.ndarray:
    """`datetime.date` objects, as the scores table's `as_of_date`; the warehouse already hands
    dates over as such, and converting 10^5 of them through datetime64 costs more than the trees."""
    values = column.to_numpy()
    if values.dtype == object and all(type(v) is date for v in values):
        return values
    return pd.to_datetime(column).dt.date.to_numpy()


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
    reason_bands: Collection[str] = REASON_BANDS,
    rules: tuple[Rule, ...] = DAILY_RULES,
) -> pd.DataFrame:
    """One row per account of `features` (one as-of day or more), in the scores table's shape.

    Reasons are the top positive TreeSHAP contributors of each account's raw score, for the
    accounts whose band is in `reason_bands` (`BANDS` explains every account); the reason
    columns of the others, and of every account without `with_reasons`, are null. Then `rules`
    (`ml.score.rules`) move the `allow` rows they match to `review`, the rule as their reason.
    """
    unknown = set(reason_bands) - set(BANDS)
    if unknown:
        raise ValueError(f"unknown bands in reason_bands: {sorted(unknown)}; bands are {BANDS}")
    check_feature_frame(features, model)
    # The trees read float32 straight from the frame; only the rows explained below need the
    # float64 values frame the reasons quote.
    probability = model.predict_proba(features) if len(features) else np.empty(0)
    if not np.isfinite(probability).all():
        raise ValueError(f"{int((~np.isfinite(probability)).sum())} non-finite scores: refusing to write them")
    band = policy.band(probability, features.get(SIDE_COLUMN))
    explained = np.isin(band, list(reason_bands)) if with_reasons else np.zeros(len(band), dtype=bool)
    reasons = reasons_for(model_inputs(features[explained], model), model)
    columns: dict[str, object] = {
        "account_id": features["account_id"].to_numpy(),
        "as_of_date": as_of_dates(features["as_of_date"]),
        "score": probability,
        "band": band,
        # Null for feature rows without the column (a frame built by hand, not the mart).
        GROUP_COLUMN[0]: (
            features[GROUP_OF_FEATURES].to_numpy(dtype=object)
            if GROUP_OF_FEATURES in features
            else np.full(len(band), None, dtype=object)
        ),
    }
    for name in REASON_NAMES:
        column = np.full(len(band), None, dtype=object)
        column[explained] = reasons[name].to_numpy()
        columns[name] = column
    constants = dict(model_name=model_name, model_version=model_version, feature_version=feature_version)
    # scored_at: naive UTC, as every warehouse timestamp.
    columns |= {**constants, "scored_at": scored_at, "run_id": run_id}
    scores = pd.DataFrame(columns, index=pd.RangeIndex(len(band)))  # built in table order: no reordering copy
    return apply_rules(scores, features, rules) if rules else scores
