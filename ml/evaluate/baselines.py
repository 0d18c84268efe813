"""Baselines the model must beat, computed in the same run on the same blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class Rule:
    name: str
    points: float
    fires: str  # a pandas query over feature columns


# The rules a risk team writes on day one: each is a well-known abuse tell.
STARTER_RULES: tuple[Rule, ...] = (
    Rule("prior_fraud_chargeback", 5, "fraud_chargebacks_as_buyer_total >= 1"),
    Rule("linked_to_actioned_account", 4, "linked_actioned_accounts >= 1"),
    Rule("scam_reports", 4, "scam_reports_received_30d >= 2"),
    Rule("seller_not_shipping", 4, "orders_due_for_shipping >= 5 and overdue_shipping_share > 0.5"),
    Rule("card_velocity", 3, "cards_added_7d >= 3"),
    Rule("mostly_prepaid_cards", 2, "prepaid_card_share > 0.5"),
    Rule("new_device_and_country", 3, "new_device_and_country_logins_7d >= 1"),
    Rule("spend_spike", 2, "spend_7d_vs_baseline > 5"),
    Rule("new_disposable_account", 2, "has_disposable_email_domain == 1 and account_age_days < 7"),
    Rule("shared_device_ring", 2, "linked_by_device >= 3"),
)


def rules_score(frame: pd.DataFrame, rules: tuple[Rule, ...] = STARTER_RULES) -> np.ndarray:
    """Points of the rules that fire, scaled to [0, 1] (a ranking, not a probability)."""
    points = np.zeros(len(frame))
    for rule in rules:
        fired = frame.eval(rule.fires).fillna(False).to_numpy(bool)
        points += rule.points * fired
    return points / sum(r.points for r in rules)


def fit_logistic_baseline(train: pd.DataFrame, features: list[str], seed: int, label: str = "is_bad") -> Pipeline:
    """Median-imputed, standardised logistic regression fitted on the training block only."""
    from sklearn.impute import SimpleImputer  # on use: Dagster's definitions load without it
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000, random_state=seed),
    )
    return model.fit(train[features].astype("float64"), train[label].astype(int))


def logistic_score(model: Pipeline, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    return model.predict_proba(frame[features].astype("float64"))[:, 1]
