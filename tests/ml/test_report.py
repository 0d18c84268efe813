import re

import numpy as np
import pandas as pd

from ml.evaluate.metrics import top_k_per_day
from ml.evaluate.report import MIN_BAD_ROWS_PER_TYPE, ScoredModel, evaluate_block, segments
from ml.policy import DecisionPolicy, PolicyCosts


def _block(days: int = 5, per_day: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * per_day
    frame = pd.DataFrame(
        {
            "account_id": [f"a{i % per_day}" for i in range(n)],
            "as_of_date": np.repeat(pd.date_range("2026-07-01", periods=days), per_day),
            "account_age_days": rng.integers(0, 400, n).astype(float),
            "is_seller": (rng.random(n) < 0.2).astype(float),
            "country_code": rng.choice(["US", "GB", "NG"], n, p=[0.7, 0.28, 0.02]),
            "is_bad": rng.random(n) < 0.05,
        }
    )
    return frame


def _policy(review: float, block: float) -> DecisionPolicy:
    return DecisionPolicy(review, block, PolicyCosts(review_capacity_per_day=10), {})


def test_segments_cover_tenure_role_country_and_traps_with_enough_good_rows():
    frame = _block()
    frame["trap_type"] = np.where(np.arange(len(frame)) % 10 == 0, "traveller", None)

    masks = segments(frame, min_good_rows=100)

    assert {"new_account_under_30d", "tenured_account_30d_plus", "buyer_only", "seller"} <= set(masks)
    assert {"country_US", "country_GB", "trap_traveller"} <= set(masks)
    assert "country_NG" not in masks  # ~40 good rows: too few to guard
    assert (masks["new_account_under_30d"] ^ masks["tenured_account_30d_plus"]).all()


def test_every_score_is_compared_and_models_get_policy_outcomes_and_segment_rates():
    frame = _block()
    rng = np.random.default_rng(1)
    signal = frame["is_bad"].to_numpy() * 0.5 + rng.random(len(frame)) * 0.5
    truth = pd.DataFrame({"account_id": frame["account_id"].unique()})
    truth["abuse_type"] = np.where(truth.index % 2 == 0, "payment_fraud", "account_takeover")
    truth["trap_type"] = None

    report = evaluate_block(
        frame,
        scores={"rules": rng.random(len(frame))},
        models={"challenger": ScoredModel(signal, signal, _policy(0.4, 0.9))},
        review_capacity=10,
        ground_truth=truth,
        min_good_rows=100,
    )

    assert set(report.metrics) == {"rules", "challenger"}
    assert report.metrics["challenger"]["average_precision"] > report.metrics["rules"]["average_precision"]
    assert set(report.recall_by_abuse_type["challenger"]) == {"payment_fraud", "account_takeover"}
    expected_fpr = (signal[~frame["is_bad"]] >= 0.4).mean()
    assert report.segment_fpr["challenger"]["buyer_only"] > 0
    assert abs(np.mean(list(report.segment_fpr["challenger"].values())) - expected_fpr) < 0.05
    outcome = report.outcome_per_day["challenger"]
    assert outcome["reviewed_per_day"] + outcome["blocked_per_day"] == ((signal >= 0.4).sum() / 5)
    gate = report.gate_evaluation("challenger")
    assert gate.actions_per_day == outcome["reviewed_per_day"] + outcome["blocked_per_day"]
    assert report.rows == len(frame) and report.days == 5


def test_labelled_types_with_enough_bad_rows_and_both_sides_are_reported_and_reach_the_gate():
    frame = _block(days=10)
    bad = frame["is_bad"].to_numpy()
    # Every bad row labelled: most payment fraud, a handful shill bidding (too few to guard).
    frame["bad_abuse_type"] = np.where(
        bad, np.where(np.arange(len(frame)) % 20 == 0, "shill_bidding", "payment_fraud"), None
    )
    assert (frame["bad_abuse_type"] == "payment_fraud").sum() >= MIN_BAD_ROWS_PER_TYPE
    assert 0 < (frame["bad_abuse_type"] == "shill_bidding").sum() < MIN_BAD_ROWS_PER_TYPE
    signal = bad * 0.5 + np.random.default_rng(2).random(len(frame)) * 0.5

    report = evaluate_block(
        frame,
        scores={},
        models={"challenger": ScoredModel(signal, signal, _policy(0.4, 0.9))},
        review_capacity=10,
        min_good_rows=100,
    )

    queued = top_k_per_day(frame.assign(s=signal), "s", 10).to_numpy()
    fraud = (frame["bad_abuse_type"] == "payment_fraud").to_numpy()
    assert report.recall_by_labelled_type["challenger"] == {"payment_fraud": queued[fraud].mean()}
    assert report.gate_evaluation("challenger").recall_by_type == {"payment_fraud": queued[fraud].mean()}
    sides = report.sides["challenger"]
    seller, acted = frame["is_seller"].to_numpy() == 1, signal >= 0.4
    assert sides["seller"]["good_acted_share"] == acted[seller & ~bad].mean()
    assert sides["buyer_only"]["bad_acted_share"] == acted[~seller & bad].mean()
    assert sides["buyer_only"]["good_acted_vs_buyers"] == 1.0
    assert sides["seller"]["good_acted_vs_buyers"] == acted[seller & ~bad].mean() / acted[~seller & ~bad].mean()
    flat = report.flat_metrics()
    assert flat["test.challenger.labelled_recall.payment_fraud"] == queued[fraud].mean()
    assert flat["test.challenger.side.seller.good_acted_share"] == sides["seller"]["good_acted_share"]


def test_flat_metrics_have_mlflow_safe_names_and_no_nan():
    frame = _block()
    report = evaluate_block(
        frame,
        scores={},
        models={"challenger": ScoredModel(np.full(len(frame), 0.01), np.full(len(frame), 0.01), _policy(0.5, 0.9))},
        review_capacity=10,
        min_good_rows=100,
    )
    report.metrics["challenger"]["broken"] = float("nan")

    flat = report.flat_metrics()

    assert "test.challenger.broken" not in flat
    assert all(re.fullmatch(r"[\w\-. :/]+", k) for k in flat)
    assert flat["test.challenger.per_day.blocked_per_day"] == 0


def test_recall_after_onset_counts_only_bad_rows_dated_once_the_abuse_had_begun():
    # Two takeovers labelled bad on all 5 days; one began on day 3. Its first two bad rows
    # predate the attack (the label looks ahead): no score can see them.
    frame = _block(days=5, per_day=20)
    frame["is_bad"] = frame["account_id"].isin(["a0", "a1"])
    truth = pd.DataFrame(
        {
            "account_id": ["a0", "a1"],
            "abuse_type": ["account_takeover"] * 2,
            "abuse_start_at": [pd.Timestamp("2026-06-01 09:00"), pd.Timestamp("2026-07-03 17:30")],
            "trap_type": [None, None],
        }
    )
    # The queue (capacity 1) holds a1 on every day, a0 never.
    score = np.where(frame["account_id"] == "a1", 1.0, 0.0)

    report = evaluate_block(
        frame,
        scores={"rules": score},
        models={},
        review_capacity=1,
        ground_truth=truth,
    )

    assert report.recall_by_abuse_type["rules"]["account_takeover"] == 0.5  # 5 of 10 bad rows
    # After onset: a0's 5 rows and a1's 3 rows from 2026-07-03 (the onset day counts).
    assert report.recall_after_onset["rules"]["account_takeover"] == 3 / 8
    assert report.onset_share["account_takeover"] == 8 / 10
    assert report.flat_metrics()["test.rules.recall_after_onset.account_takeover"] == 3 / 8


def test_a_models_queue_takes_the_rules_reviews_first_and_truth_recall_sees_rings_labelled_good():
    # A ring (a5, a6) the labels call good and the model scores low; a rule reviews it anyway.
    frame = _block(days=4, per_day=20)
    frame["is_bad"] = frame["account_id"].isin(["a0", "a1"])
    truth = pd.DataFrame(
        {
            "account_id": ["a0", "a1", "a5", "a6"],
            "abuse_type": ["payment_fraud", "payment_fraud", "multi_accounting", "multi_accounting"],
            "abuse_start_at": [pd.Timestamp("2026-06-01")] * 4,
            "trap_type": [None] * 4,
        }
    )
    frame["linked_group_id"] = np.where(frame["account_id"].isin(["a5", "a6"]), "group_a5", None)
    raw = np.where(frame["account_id"] == "a0", 0.9, np.where(frame["account_id"] == "a1", 0.8, 0.01))
    ruled = frame["account_id"].isin(["a5", "a6"]).to_numpy()
    models = {"challenger": ScoredModel(raw, raw, _policy(0.5, 0.95))}

    plain = evaluate_block(frame, {}, models, review_capacity=2, ground_truth=truth, min_good_rows=1)
    report = evaluate_block(
        frame, {}, models, review_capacity=2, ground_truth=truth, min_good_rows=1, review_anyway=ruled
    )

    # Capacity 2 items: the model's a0 and a1; with the rule, the ring (one item) and a0.
    assert plain.truth_recall_after_onset["challenger"] == {"multi_accounting": 0.0, "payment_fraud": 1.0}
    assert report.truth_recall_after_onset["challenger"] == {"multi_accounting": 1.0, "payment_fraud": 0.5}
    assert report.metrics["challenger"]["recall_at_capacity"] == 0.5
    assert report.metrics["challenger"]["average_precision"] == plain.metrics["challenger"]["average_precision"]
    # The policy acts on the ring too: 2 good account-days a day more.
    outcome = report.outcome_per_day["challenger"]
    assert outcome["rule_reviewed_per_day"] == 2
    assert outcome["good_hit_per_day"] == plain.outcome_per_day["challenger"]["good_hit_per_day"] + 2
    assert report.flat_metrics()["test.challenger.truth_recall_after_onset.multi_accounting"] == 1.0
    # By ground truth the queue trades a payment fraudster's day for the ring's two a day.
    assert plain.truth_queue_per_day["challenger"] == {"multi_accounting": 0.0, "payment_fraud": 2.0, "honest": 0.0}
    assert report.truth_queue_per_day["challenger"] == {"multi_accounting": 2.0, "payment_fraud": 1.0, "honest": 0.0}
    assert report.flat_metrics()["test.challenger.truth_queue_per_day.multi_accounting"] == 2.0
    # One item more a day: the next account by id among equal scores, a2, honest.
    wider = evaluate_block(frame, {}, models, review_capacity=3, ground_truth=truth, min_good_rows=1)
    assert wider.truth_queue_per_day["challenger"]["honest"] == 1.0
    # By label the ring is good buyers acted on; by ground truth it is abusers caught.
    buyers = ~(frame["is_seller"] == 1)
    ring_buyer_rows = (buyers & frame["account_id"].isin(["a5", "a6"])).sum()
    by_label, by_truth = report.sides["challenger"]["buyer_only"], report.truth_sides["challenger"]["buyer_only"]
    assert by_label["good_acted_share"] > 0 and by_truth["good_acted_share"] == 0
    assert by_truth["bad_rows"] == by_label["bad_rows"] + ring_buyer_rows
