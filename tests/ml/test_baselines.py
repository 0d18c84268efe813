import numpy as np
import pandas as pd

from ml.evaluate.baselines import STARTER_RULES, fit_logistic_baseline, logistic_score, rules_score


def _features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            c: np.zeros(n)
            for c in [
                "fraud_chargebacks_as_buyer_total",
                "linked_actioned_accounts",
                "scam_reports_received_30d",
                "orders_due_for_shipping",
                "overdue_shipping_share",
                "cards_added_7d",
                "prepaid_card_share",
                "new_device_and_country_logins_7d",
                "spend_7d_vs_baseline",
                "account_age_days",
                "linked_by_device",
            ]
        }
    )
    frame["has_disposable_email_domain"] = False
    frame["overdue_shipping_share"] = np.nan  # no orders due: the ratio is null
    frame["is_bad"] = rng.random(n) < 0.1
    frame.loc[frame["is_bad"], "cards_added_7d"] = rng.integers(0, 6, frame["is_bad"].sum())
    return frame


def test_rule_points_add_up_and_nulls_do_not_fire():
    frame = _features(4, 0).iloc[:2].copy()
    frame.loc[0, ["fraud_chargebacks_as_buyer_total", "cards_added_7d"]] = [1, 3]
    score = rules_score(frame)
    total = sum(r.points for r in STARTER_RULES)
    assert score[0] == (5 + 3) / total
    assert score[1] == 0.0


def test_logistic_baseline_learns_a_signal_and_scores_probabilities():
    train, test = _features(3000, 1), _features(2000, 2)
    features = ["cards_added_7d", "overdue_shipping_share", "prepaid_card_share"]
    model = fit_logistic_baseline(train, features, seed=7)
    p = logistic_score(model, test, features)
    assert ((p >= 0) & (p <= 1)).all()
    assert p[test["is_bad"].to_numpy()].mean() > p[~test["is_bad"].to_numpy()].mean()
