"""Restated performance: published scores graded with final labels, at the version's review
capacity, per side of the market and per abuse type, and compared with the gate's evaluation."""

import math
from datetime import date

import pandas as pd
import pytest

from ml.monitor.performance import Restated, compare_with_evaluation, grade

DAY_1, DAY_2 = date(2026, 5, 1), date(2026, 5, 2)


def _frame() -> pd.DataFrame:
    # Day 1: the two highest are one bad seller and one good buyer; a bad buyer ranks third.
    # Day 2: the highest is a bad buyer; a bad seller ranks last.
    rows = [
        ("s1", DAY_1, 0.9, 1, 1),
        ("b1", DAY_1, 0.8, 0, 0),
        ("b2", DAY_1, 0.7, 1, 0),
        ("b3", DAY_1, 0.1, 0, 0),
        ("b4", DAY_2, 0.95, 1, 0),
        ("s2", DAY_2, 0.5, 0, 1),
        ("s3", DAY_2, 0.4, 0, 1),
        ("s4", DAY_2, 0.05, 1, 1),
    ]
    frame = pd.DataFrame(rows, columns=["account_id", "as_of_date", "score", "is_bad", "is_seller"])
    return frame.assign(as_of_date=pd.to_datetime(frame["as_of_date"]), model_version="3", is_label_final=True)


TRUTH = pd.DataFrame(
    {
        "account_id": ["s1", "b2", "b4", "s4", "b1"],
        "abuse_type": ["shill_bidding", "card_testing", "card_testing", "shill_bidding", None],
        "trap_type": None,
    }
)


def test_the_queue_is_the_top_k_of_each_day_and_recall_and_precision_follow_it():
    restated = grade(_frame(), review_capacity=2)

    # Queued: s1, b1 (day 1), b4, s2 (day 2); 2 of the 4 bad accounts, 2 of the 4 queued bad.
    assert restated.metrics["recall_at_capacity"] == pytest.approx(0.5)
    assert restated.metrics["precision_at_capacity"] == pytest.approx(0.5)
    assert restated.metrics["bad_rate"] == pytest.approx(0.5)
    assert 0 < restated.metrics["average_precision"] < 1
    assert (restated.rows, restated.bad_rows, restated.days) == (8, 4, 2)
    assert (restated.first_day, restated.last_day, restated.model_version) == (DAY_1, DAY_2, "3")


def test_each_side_of_the_market_is_graded_on_the_whole_days_queue():
    restated = grade(_frame(), review_capacity=2)

    # Buyers: b2 and b4 bad, b4 queued; queued buyers b1, b4. Sellers: s1 and s4 bad, s1 queued.
    assert restated.by_side["buyer"]["recall_at_capacity"] == pytest.approx(0.5)
    assert restated.by_side["buyer"]["precision_at_capacity"] == pytest.approx(0.5)
    assert restated.by_side["seller"]["recall_at_capacity"] == pytest.approx(0.5)
    assert restated.by_side["seller"]["precision_at_capacity"] == pytest.approx(0.5)


def test_recall_per_abuse_type_comes_from_the_ground_truth_when_present():
    assert grade(_frame(), 2).recall_by_abuse_type == {}

    restated = grade(_frame(), 2, TRUTH)

    assert restated.recall_by_abuse_type == {"card_testing": 0.5, "shill_bidding": 0.5}
    flat = restated.flat_metrics()
    assert flat["restated.recall.card_testing"] == 0.5 and flat["restated.seller.recall_at_capacity"] == 0.5
    assert all(math.isfinite(v) for v in flat.values())


def test_mixed_versions_and_unlabelled_rows_are_refused():
    mixed = _frame()
    mixed.loc[0, "model_version"] = "4"
    with pytest.raises(ValueError, match="one model version"):
        grade(mixed, 2)
    unlabelled = _frame().astype({"is_bad": "object"})
    unlabelled.loc[3, "is_bad"] = None
    with pytest.raises(ValueError, match="1 rows without a final label"):
        grade(unlabelled, 2)


def _restated(average_precision: float, recall: float) -> Restated:
    metrics = {"average_precision": average_precision, "recall_at_capacity": recall}
    return Restated(DAY_1, DAY_2, "3", 100, 10, 2, 5, metrics)


@pytest.mark.parametrize(
    ("average_precision", "recall", "passed"),
    [(0.5, 0.6, True), (0.41, 0.49, True), (0.39, 0.6, False), (0.5, 0.47, False)],
)
def test_matured_performance_warns_only_below_the_relative_margin(average_precision, recall, passed):
    evaluation = {"average_precision": 0.5, "recall_at_capacity": 0.6, "precision_at_capacity": 0.3}

    comparison = compare_with_evaluation(_restated(average_precision, recall), evaluation, max_relative_drop=0.2)

    assert comparison.passed is passed
    assert len(comparison.lines) == 2 and ("below" in " ".join(comparison.lines)) is not passed


def test_a_metric_the_evaluation_lacks_is_said_not_comparable_and_does_not_warn():
    comparison = compare_with_evaluation(_restated(0.01, math.nan), {"recall_at_capacity": 0.6}, 0.2)

    assert comparison.passed
    assert comparison.lines[0].startswith("average_precision: not comparable")
    assert comparison.lines[1].startswith("recall_at_capacity: not comparable")
