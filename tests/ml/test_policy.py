import numpy as np
import pandas as pd
import pytest

from ml.policy import PolicyCosts, choose_policy


def _scored(days: int = 10, per_day: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    prob = rng.beta(0.3, 20, days * per_day)
    return pd.DataFrame(
        {
            "as_of_date": np.repeat(np.arange(days), per_day),
            "p": prob,
            "is_bad": rng.random(prob.size) < prob,
        }
    )


def test_thresholds_follow_the_break_even_of_costs_when_capacity_is_ample():
    costs = PolicyCosts(
        loss_per_missed_bad_usd=400,
        review_cost_per_good_usd=8,
        block_cost_per_good_usd=150,
        review_capacity_per_day=10_000,
    )
    policy = choose_policy(_scored(), "p", costs)
    assert policy.block_threshold == pytest.approx(150 / 550)
    assert policy.review_threshold == pytest.approx(8 / 408)
    assert policy.review_threshold < policy.block_threshold


def test_the_review_queue_is_cut_to_the_daily_capacity():
    costs = PolicyCosts(review_capacity_per_day=20)
    policy = choose_policy(_scored(), "p", costs)
    assert policy.review_threshold > 8 / 408
    assert policy.expected["reviewed_per_day"] <= 20
    assert policy.expected["reviewed_per_day"] >= 19


def test_expected_outcome_adds_up_and_bands_follow_thresholds():
    frame = _scored()
    policy = choose_policy(frame, "p", PolicyCosts(review_capacity_per_day=50))
    e = policy.expected
    bad_per_day = frame["is_bad"].sum() / frame["as_of_date"].nunique()
    assert e["bad_caught_per_day"] + e["bad_missed_per_day"] == pytest.approx(bad_per_day)
    bands = policy.band(np.array([0.0, policy.review_threshold, policy.block_threshold]))
    assert bands.tolist() == ["allow", "review", "block"]
    assert policy.as_params()["policy_review_capacity_per_day"] == 50


def test_a_policy_round_trips_through_a_plain_dict():
    import json

    from ml.policy import DecisionPolicy, PolicyCosts

    policy = DecisionPolicy(0.02, 0.27, PolicyCosts(review_capacity_per_day=40), {"reviewed_per_day": 12.5})
    assert DecisionPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_capacity_counts_review_items_so_a_flagged_group_takes_one_slot():
    # One day, capacity 2 items. Scores 0.9..0.3 in the review band; a1-a3 are one linked group.
    frame = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "b", "c", "d"],
            "as_of_date": [1] * 6,
            "linked_group_id": ["group_a1", "group_a1", "group_a1", None, None, None],
            "p": [0.9, 0.8, 0.7, 0.6, 0.5, 0.3],
            "is_bad": [True, True, True, False, False, False],
        }
    )
    costs = PolicyCosts(loss_per_missed_bad_usd=400, review_cost_per_good_usd=8, block_cost_per_good_usd=1e9)
    policy = choose_policy(frame, "p", PolicyCosts(**{**costs.__dict__, "review_capacity_per_day": 2}))

    # The group (3 accounts) and b fit; c would be the third item.
    assert 0.5 < policy.review_threshold <= 0.6
    assert policy.expected["reviewed_per_day"] == 4
    assert policy.expected["review_items_per_day"] == 2
    # Counted in accounts (no group column) only two accounts fit.
    alone = choose_policy(
        frame.drop(columns="linked_group_id"), "p", PolicyCosts(**{**costs.__dict__, "review_capacity_per_day": 2})
    )
    assert 0.7 < alone.review_threshold <= 0.8


def test_sellers_get_their_own_operating_point_from_their_own_costs_and_capacity_share():
    frame = _scored(days=10, per_day=1000)
    frame["is_seller"] = (np.arange(len(frame)) % 10 == 0).astype(float)  # 100 sellers a day
    costs = PolicyCosts(
        loss_per_missed_bad_usd=400,
        review_cost_per_good_usd=8,
        block_cost_per_good_usd=150,
        review_capacity_per_day=40,
        seller_loss_per_missed_bad_usd=1000,
        seller_review_cost_per_good_usd=40,
        seller_block_cost_per_good_usd=1500,
        seller_review_capacity_share=0.25,
    )

    policy = choose_policy(frame, "p", costs)

    assert policy.two_sided
    assert policy.block_threshold == pytest.approx(150 / 550)
    assert policy.seller_block_threshold == pytest.approx(1500 / 2500)
    seller = frame["is_seller"] == 1
    band = policy.band(frame["p"], frame["is_seller"])
    reviews_per_day = pd.Series(band == "review").groupby([frame["as_of_date"], seller]).sum().groupby(level=1).mean()
    assert reviews_per_day[True] <= 10 and reviews_per_day[False] <= 30  # 25% / 75% of 40
    # Both review thresholds were raised above their break-even by their side's capacity.
    assert policy.review_threshold > 8 / 408 and policy.seller_review_threshold > 40 / 1040
    # Between the two sides' review thresholds, a probability bands differently by side.
    p = (policy.review_threshold + policy.seller_review_threshold) / 2
    buyer_first = policy.review_threshold < policy.seller_review_threshold
    expected = ["review", "allow"] if buyer_first else ["allow", "review"]
    assert policy.band(np.array([p, p]), pd.Series([0.0, 1.0])).tolist() == expected
    # An unknown side is a buyer's; a side-less call is refused.
    assert policy.band(np.array([p]), pd.Series([None])).tolist() == expected[:1]
    with pytest.raises(ValueError, match="is_seller"):
        policy.band(np.array([p]))
    assert policy.as_params()["policy_seller_block_threshold"] == pytest.approx(0.6)


def test_a_one_point_policy_saved_before_sides_loads_and_bands_every_account_alike():
    from ml.policy import DecisionPolicy

    saved = {
        "review_threshold": 0.1,
        "block_threshold": 0.3,
        "costs": {
            "loss_per_missed_bad_usd": 400.0,
            "review_cost_per_good_usd": 8.0,
            "block_cost_per_good_usd": 150.0,
            "review_capacity_per_day": 100,
        },
        "expected": {"reviewed_per_day": 3.0},
    }
    policy = DecisionPolicy.from_dict(saved)
    assert not policy.two_sided
    assert policy.band(np.array([0.2, 0.2]), pd.Series([0.0, 1.0])).tolist() == ["review", "review"]
    assert policy.band(np.array([0.05, 0.5])).tolist() == ["allow", "block"]


def test_a_two_sided_policy_round_trips_through_a_plain_dict():
    import json

    from ml.policy import DecisionPolicy

    policy = DecisionPolicy(0.02, 0.27, PolicyCosts(), {"reviewed_per_day": 12.5}, 0.2, 0.6)
    assert DecisionPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_the_rules_reviews_take_the_capacity_first_and_the_model_gets_what_is_left():
    frame = _scored()
    costs = PolicyCosts(review_capacity_per_day=20)
    alone = choose_policy(frame, "p", costs)
    # Five low-scored accounts a day that a rule reviews whatever their score.
    ruled = np.zeros(len(frame), dtype=bool)
    ruled[frame.groupby("as_of_date")["p"].idxmin().to_numpy()] = True
    for day in range(10):
        low = frame.index[(frame["as_of_date"] == day) & (frame["p"] < 0.001)][:4]
        ruled[low] = True

    policy = choose_policy(frame, "p", costs, review_anyway=ruled)

    assert policy.review_threshold > alone.review_threshold
    assert policy.expected["rule_reviewed_per_day"] == pytest.approx(5)
    assert policy.expected["reviewed_per_day"] <= 20 and policy.expected["reviewed_per_day"] >= 19
    bands = policy.band(frame["p"].to_numpy(), None, ruled)
    assert (bands[ruled] == "review").all()  # scored far below the threshold, reviewed anyway
    assert (bands[~ruled] == policy.band(frame["p"].to_numpy())[~ruled]).all()


def test_when_the_rules_fill_the_capacity_the_model_reviews_nothing_but_still_blocks():
    frame = _scored()
    ruled = (frame.groupby("as_of_date").cumcount() < 30).to_numpy()  # 30 rule reviews a day, capacity 20

    policy = choose_policy(frame, "p", PolicyCosts(review_capacity_per_day=20), review_anyway=ruled)

    assert policy.review_threshold == policy.block_threshold
    assert policy.expected["blocked_per_day"] > 0
    with pytest.raises(ValueError, match="row mask"):
        policy.band(frame["p"].to_numpy(), None, ruled[:-1])
