import numpy as np
import pandas as pd
import pytest

from ml.evaluate.metrics import (
    expected_calibration_error,
    recall_by_group,
    score_metrics,
    segment_false_positive_rates,
    top_k_per_day,
)


def _block() -> pd.DataFrame:
    # Two days, four accounts a day; the score ranks both bad accounts of day 1 first, and the
    # bad account of day 2 third.
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "a", "b", "c", "d"],
            "as_of_date": ["d1"] * 4 + ["d2"] * 4,
            "score": [0.9, 0.8, 0.1, 0.05, 0.7, 0.6, 0.5, 0.0],
            "is_bad": [True, True, False, False, False, False, True, False],
            "abuse_type": ["payment_fraud", "seller_scam", None, None, None, None, "seller_scam", None],
            "is_new": [True, False, True, False, True, False, True, False],
        }
    )


def test_the_review_queue_takes_the_top_k_of_each_day():
    queued = top_k_per_day(_block(), "score", 2)
    assert queued.tolist() == [True, True, False, False, True, True, False, False]


def test_a_linked_group_s_members_are_one_review_item():
    block = _block()
    # Day 1: a and b are one group (one item), so capacity 2 reaches c; d's item does not fit.
    # Day 2: c and d are one group, ranked third and fourth: the queue stops before it.
    block["linked_group_id"] = ["g1", "g1", None, None, None, None, "g2", "g2"]
    queued = top_k_per_day(block, "score", 2)
    assert queued.tolist() == [True, True, True, False, True, True, False, False]
    assert top_k_per_day(block, "score", 3).tolist() == [True, True, True, True, True, True, True, True]


def test_capacity_bound_recall_precision_and_false_positive_rate():
    m = score_metrics(_block(), "score", review_capacity=2)
    assert m["recall_at_capacity"] == pytest.approx(2 / 3)
    assert m["precision_at_capacity"] == pytest.approx(2 / 4)
    assert m["fpr_at_capacity"] == pytest.approx(2 / 5)
    assert 0.5 < m["roc_auc"] <= 1 and 0 < m["average_precision"] <= 1


def test_calibration_error_is_zero_for_honest_probabilities_and_large_for_inflated_ones():
    rng = np.random.default_rng(0)
    prob = rng.uniform(0, 0.2, 200_000)
    y = rng.random(prob.size) < prob
    assert expected_calibration_error(y, prob) < 0.01
    assert expected_calibration_error(y, np.clip(prob * 4, 0, 1)) > 0.15


def test_false_positive_rates_per_segment_and_recall_per_abuse_type():
    block = _block()
    flagged = top_k_per_day(block, "score", 2)
    fpr = segment_false_positive_rates(block, flagged, {"new": block["is_new"], "tenured": ~block["is_new"]})
    recall = recall_by_group(block, flagged, "abuse_type")
    assert fpr == {"new": pytest.approx(1 / 2), "tenured": pytest.approx(1 / 3)}
    assert recall == {"payment_fraud": 1.0, "seller_scam": 0.5}


def test_a_calibrated_model_ranks_by_its_raw_score_and_is_judged_on_its_probability():
    frame = pd.DataFrame(
        {
            "as_of_date": ["d"] * 6,
            "account_id": list("abcdef"),
            "raw": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            "probability": [0.5, 0.5, 0.5, 0.1, 0.1, 0.1],  # isotonic steps tie the top three
            "is_bad": [True, False, False, True, False, False],
        }
    )
    m = score_metrics(frame, "raw", review_capacity=1, probability="probability")
    tied = score_metrics(frame, "probability", review_capacity=1)
    assert m["average_precision"] > tied["average_precision"]
    assert m["recall_at_capacity"] == 0.5  # "a" leads the raw ranking
    assert m["brier"] == tied["brier"]  # judged on the same probabilities
