"""A small risk model over the real model features, and feature rows shaped like the mart's,
for scoring and explanation tests that need real reason codes but not a whole pipeline run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from ml.features.catalog import DEFAULT_MODELS_YML, load_feature_columns
from ml.policy import DecisionPolicy, PolicyCosts
from ml.score.rules import DAILY_RULES, rule_features
from ml.train.dataset import model_feature_columns
from ml.train.model import RiskModel, TrainConfig, train_risk_model

FEATURES = model_feature_columns(DEFAULT_MODELS_YML)
UNITS = {c.name: c.unit for c in load_feature_columns(DEFAULT_MODELS_YML)}
# Bad accounts show these more often; the rest is noise the trees may still split on.
SIGNALS = ("failed_logins_7d", "cards_added_7d", "linked_actioned_accounts", "new_devices_7d", "spend_usd_7d")
DAY = date(2026, 9, 30)


def feature_rows(n: int, seed: int, day: date = DAY, bad_rate: float = 0.08) -> pd.DataFrame:
    """`n` accounts' feature rows for `day` (mart dtypes: int64 counts, float64 else, some NaN)
    plus `is_bad`; ids are unique across seeds."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < bad_rate
    columns: dict[str, object] = {
        "account_id": [f"acct_{seed}_{i:05d}" for i in range(n)],
        "as_of_date": [day] * n,
    }
    for name in FEATURES:
        unit = UNITS[name]
        if unit == "boolean":
            columns[name] = (rng.random(n) < 0.5).astype("int64")
        elif unit in ("share_0_1", "ratio"):
            values = rng.random(n) * (3.0 if unit == "ratio" else 1.0)
            columns[name] = np.where(rng.random(n) < 0.2, np.nan, values)
        elif unit in ("usd", "hours", "days"):
            columns[name] = np.round(rng.gamma(2.0, 50.0, n), 2)
        else:
            columns[name] = rng.poisson(2.0, n).astype("int64")
    frame = pd.DataFrame(columns)
    # What the daily rules read is rare in a real day (a ring signed up together): the rules
    # must not review a third of the synthetic accounts. Columns that are not features: unknown.
    for name in rule_features(DAILY_RULES):
        frame[name] = rng.poisson(0.05, n).astype("int64") if name in FEATURES else None
    for name in SIGNALS:
        frame[name] = frame[name] + np.where(bad, rng.poisson(4.0, n), 0).astype(frame[name].dtype)
    return frame.assign(is_bad=bad)


def train_small_model(seed: int = 7) -> RiskModel:
    config = TrainConfig(max_rounds=40, early_stopping_rounds=10, nthread=1, seed=seed)
    return train_risk_model(feature_rows(3000, seed), feature_rows(1500, seed + 100), FEATURES, config)


def policy_flagging(model: RiskModel, rows: pd.DataFrame, review_share: float, block_share: float) -> DecisionPolicy:
    """A policy whose thresholds put about these shares of `rows` in review and block."""
    probability = model.predict_proba(rows)
    block = float(np.quantile(probability, 1 - block_share))
    review = float(np.quantile(probability, 1 - block_share - review_share))
    return DecisionPolicy(review, block, PolicyCosts(), {"reviewed_per_day": review_share * len(rows)})


# What scoring writes beside each row (`score_accounts`' keyword arguments).
META = dict(
    model_name="vigil_account_risk",
    model_version="1",
    feature_version="fct@abc",
    scored_at=datetime(2026, 10, 1, 6, tzinfo=UTC).replace(tzinfo=None),
    run_id="run-1",
)


def small_day(accounts: int, seed: int) -> tuple[RiskModel, DecisionPolicy, pd.DataFrame]:
    """The small model, a policy putting ~5% in review and ~2% in block, and a day to score."""
    model = train_small_model()
    features = feature_rows(accounts, seed=seed).drop(columns="is_bad")
    return model, policy_flagging(model, features, review_share=0.05, block_share=0.02), features
