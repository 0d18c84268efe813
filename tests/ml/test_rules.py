"""Rules: a pattern the model does not score moves an `allow` row to `review`, with the rule as
its reason; the decision's change reason names the rule; the model's own flags are untouched.
The ring and shill rules run in the daily run, the takeover rule only in the near-real-time path."""

import string
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from ml.live import escalate
from ml.score import sync
from ml.score.explain import explain_accounts
from ml.score.reasons import VOCABULARY
from ml.score.rules import (
    DAILY_RULES,
    INTRADAY_RULES,
    RING_SIGNUPS,
    RULE_CODES,
    SHILL_LINKED_BIDDERS,
    SHILL_LINKED_BIDDERS_90D,
    SHILL_LINKED_BIDS,
    SHILL_LINKED_BIDS_90D,
    SHILL_RING_MEMBERS,
    TAKEOVER_LOGIN,
    apply_rules,
    matched,
    rules_on_inputs,
)
from ml.score.schema import SYNC_COLUMNS
from ml.score.scoring import score_accounts
from tests.ml.synthetic_scoring import FEATURES, META, small_day
from tests.reverse_etl_helpers import synthetic_scores

DAY = date(2026, 9, 2)
NOW = datetime(2026, 9, 2, 14, 1)


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["hijacked", "traveller", "forgetful", "flagged", "unknown", "ring", "pair"],
            "as_of_date": [DAY] * 7,
            "failed_logins_1d": [6, 0, 4, 7, None, 0, 0],
            "new_devices_1d": [1, 2, 0, 1, 1, 0, 0],
            "linked_created_within_7d": [0, 0, 0, 5, 0, 4, 2],
            "linked_group_id": [None, None, None, "group_f", None, "group_r", "group_p"],
            "bids_on_linked_sellers_30d": [0, 0, 0, 9, 0, 0, 0],
            "linked_bidder_share_30d": [None] * 7,
            "bids_received_30d": [0] * 7,
            "bids_on_linked_sellers_90d": [0, 0, 0, 9, 0, 0, 0],
            "linked_bidder_share_90d": [None] * 7,
            "bids_received_90d": [0] * 7,
        }
    ).sort_values("account_id", ignore_index=True)  # the scores' order


def _scores() -> pd.DataFrame:
    bands = {
        "hijacked": "allow",
        "traveller": "allow",
        "forgetful": "allow",
        "flagged": "block",
        "unknown": "allow",
        "ring": "allow",
        "pair": "allow",
    }
    return synthetic_scores(DAY, bands, seed=5).assign(features_ingested_through=datetime(2026, 9, 2, 13, 0))


def test_the_takeover_rule_reviews_failed_logins_then_a_new_device_and_nothing_else():
    scores = _scores()
    ruled = apply_rules(scores, _features(), (TAKEOVER_LOGIN,)).set_index("account_id")

    assert ruled.loc["hijacked", "band"] == "review"
    assert ruled.loc["hijacked", "reason_code_1"] == TAKEOVER_LOGIN.code
    assert ruled.loc["hijacked", "reason_text_1"] == "6 failed logins and a login from 1 new device(s) today"
    assert pd.isna(ruled.loc["hijacked", "reason_code_2"]) and pd.isna(ruled.loc["hijacked", "reason_text_3"])
    assert ruled.loc["hijacked", "score"] == scores.set_index("account_id").loc["hijacked", "score"]
    # A new device without failures, failures without a new device, an unknown count: no match.
    assert (ruled.loc[["traveller", "forgetful", "unknown", "ring"], "band"] == "allow").all()
    # The model's own flag keeps its band and its reasons.
    before = scores.set_index("account_id").loc["flagged"]
    assert ruled.loc["flagged", "band"] == "block"
    assert ruled.loc["flagged", "reason_code_1"] == before["reason_code_1"]


def test_the_ring_rule_reviews_three_accounts_signed_up_with_it_and_not_two():
    features = _features()
    ruled = apply_rules(_scores(), features, (RING_SIGNUPS,)).set_index("account_id")

    assert ruled.loc["ring", "band"] == "review"
    assert ruled.loc["ring", "reason_code_1"] == RING_SIGNUPS.code
    assert ruled.loc["ring", "reason_text_1"] == (
        "4 accounts sharing a device, card or address with it signed up within 7 days of it"
    )
    assert ruled.loc["pair", "band"] == "allow" and pd.isna(ruled.loc["pair", "reason_code_1"])
    assert ruled.loc["flagged", "band"] == "block" and ruled.loc["flagged", "reason_code_1"] == "code_1"
    # In a chained network (no ring-sized group: `linked_group_id` null) signups together are no ring.
    networked = features.assign(linked_group_id=None)
    assert (apply_rules(_scores(), networked, (RING_SIGNUPS,))["band"] != "review").all()


def _bidders_and_sellers() -> tuple[pd.DataFrame, pd.DataFrame]:
    features = pd.DataFrame(
        {
            "account_id": ["shill", "fan", "ring_seller", "small_seller", "popular_seller", "quiet"],
            "bids_on_linked_sellers_30d": [7, 4, 0, 0, 0, None],
            "linked_bidder_share_30d": [None, None, 0.25, 0.5, 0.08, None],
            "bids_received_30d": [0, 0, 48, 6, 900, 0],
            # Over 90 days: the shill's earlier bursts, the fan's few; the sellers' 30 days alone.
            "bids_on_linked_sellers_90d": [19, 7, 0, 0, 0, None],
            "linked_bidder_share_90d": [None, None, 0.25, 0.5, 0.08, None],
            "bids_received_90d": [0, 0, 48, 6, 900, 0],
        }
    ).sort_values("account_id", ignore_index=True)
    scores = synthetic_scores(DAY, dict.fromkeys(features["account_id"], "allow"), seed=9)
    return features, scores.assign(features_ingested_through=datetime(2026, 9, 2, 13, 0))


def test_the_shill_rules_review_bids_on_linked_sellers_and_sellers_bid_up_by_their_own_accounts():
    features, scores = _bidders_and_sellers()
    ruled = apply_rules(scores, features, (SHILL_LINKED_BIDDERS, SHILL_LINKED_BIDS)).set_index("account_id")

    assert ruled.loc["shill", "band"] == "review" and ruled.loc["shill", "reason_code_1"] == SHILL_LINKED_BIDS.code
    assert ruled.loc["shill", "reason_text_1"] == (
        "7 bids in the last 30 days in shows of sellers that share a device, card, address or IP with it"
    )
    assert ruled.loc["ring_seller", "reason_code_1"] == SHILL_LINKED_BIDDERS.code
    assert ruled.loc["ring_seller", "reason_text_1"] == (
        "25% of the 48 bids in its shows in the last 30 days came from accounts that share a device, card, "
        "address or IP with it"
    )
    # Under 5 bids on linked sellers; a high share of too few bids; a low share of many; unknown: no match.
    assert (ruled.loc[["fan", "small_seller", "popular_seller", "quiet"], "band"] == "allow").all()
    assert ruled.loc[["fan", "small_seller", "popular_seller", "quiet"], "reason_code_1"].isna().all()


def test_the_90_day_shill_rules_keep_a_shill_in_review_between_bursts_and_its_ring_with_it():
    features = pd.DataFrame(
        {
            "account_id": ["between_bursts", "light_fan", "seller", "mate", "other_group"],
            "as_of_date": [DAY] * 5,
            "linked_group_id": [None, None, "g1", "g1", "g2"],
            # The last burst left the 30-day window: only the 90-day counts still hold it.
            "bids_on_linked_sellers_30d": [0, 0, 0, 0, 0],
            "linked_bidder_share_30d": [None, None, 0.3, None, None],
            "bids_received_30d": [0, 0, 12, 0, 0],
            "bids_on_linked_sellers_90d": [8, 7, 0, 0, 0],
            "linked_bidder_share_90d": [None, None, 0.2, None, 0.5],
            "bids_received_90d": [0, 0, 35, 0, 29],
            "linked_created_within_7d": [0] * 5,
        }
    )
    scores = synthetic_scores(DAY, dict.fromkeys(features["account_id"], "allow"), seed=11)
    scores = scores.assign(account_id=features["account_id"], as_of_date=features["as_of_date"])

    ruled = apply_rules(scores, features, DAILY_RULES).set_index("account_id")

    assert ruled["band"].to_dict() == {
        "between_bursts": "review",
        "light_fan": "allow",  # 7 bids in 90 days: under the minimum
        "seller": "review",
        "mate": "review",
        "other_group": "allow",  # half of 29 bids: under the 30-bid floor
    }
    assert ruled.loc["between_bursts", "reason_code_1"] == SHILL_LINKED_BIDS_90D.code
    assert ruled.loc["between_bursts", "reason_text_1"] == (
        "8 bids in the last 90 days in shows of sellers that share a device, card, address or IP with it"
    )
    assert ruled.loc["seller", "reason_code_1"] == SHILL_LINKED_BIDDERS_90D.code
    assert ruled.loc["seller", "reason_text_1"] == (
        "20% of the 35 bids in its shows in the last 90 days came from accounts that share a device, card, "
        "address or IP with it"
    )
    assert ruled.loc["mate", "reason_code_1"] == SHILL_RING_MEMBERS.code
    # Without the 90-day rules nobody here matches.
    assert not matched(features, (SHILL_LINKED_BIDDERS, SHILL_LINKED_BIDS)).any()


def _ring_day() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two days of a shill ring (group g1) and a bystander group (g2): on the first day the ring's
    bidder bids on its seller's shows; on the second nobody matches a shill rule."""
    features = pd.DataFrame(
        {
            "account_id": ["bidder", "mate", "blocked_mate", "seller", "alone", "bystander", "mate"],
            "as_of_date": [DAY] * 6 + [date(2026, 9, 3)],
            "linked_group_id": ["g1", "g1", "g1", "g1", None, "g2", "g1"],
            "bids_on_linked_sellers_30d": [7, 1, 0, 0, 9, 0, 0],
            "linked_bidder_share_30d": [None, None, None, 0.4, None, None, 0.4],
            "bids_received_30d": [0, 0, 0, 50, 0, 0, 3],
            "bids_on_linked_sellers_90d": [7, 1, 0, 0, 9, 0, 0],
            "linked_bidder_share_90d": [None, None, None, 0.4, None, None, 0.4],
            "bids_received_90d": [0, 0, 0, 50, 0, 0, 3],
            "linked_created_within_7d": [0] * 7,
        }
    )
    bands = ["allow", "allow", "block", "allow", "allow", "allow", "allow"]
    scores = synthetic_scores(DAY, dict(zip(["a", "b", "c", "d", "e", "f", "g"], bands, strict=True)), seed=4)
    return features, scores.assign(account_id=features["account_id"], as_of_date=features["as_of_date"])


def test_the_ring_members_of_a_shill_join_its_review_with_the_count_as_their_reason():
    features, scores = _ring_day()
    ruled = apply_rules(scores, features, DAILY_RULES)

    assert ruled["reason_code_1"].tolist()[:4] == [
        SHILL_LINKED_BIDS.code,
        SHILL_RING_MEMBERS.code,
        scores.loc[2, "reason_code_1"],  # the model's block keeps its band and reasons
        SHILL_LINKED_BIDDERS.code,
    ]
    assert ruled["band"].tolist() == ["review", "review", "block", "review", "review", "allow", "allow"]
    # Both shill rules matched a member of g1 that day: the mate's reason counts them.
    assert ruled.loc[1, "reason_text_1"] == (
        "2 other account(s) of its linked group (sharing a device, card or address, directly or through each other) "
        "matched a shill-bidding rule today"
    )
    assert ruled.loc[1, ["reason_code_2", "reason_code_3"]].isna().all()
    # No group, another group, or the same group on a day no member matched: no match.
    assert ruled.loc[4, "reason_code_1"] == SHILL_LINKED_BIDS.code  # its own rule, not the group's
    assert pd.isna(ruled.loc[5, "reason_code_1"]) and pd.isna(ruled.loc[6, "reason_code_1"])
    np.testing.assert_array_equal(
        SHILL_RING_MEMBERS.other_members_matched(features), [1.0, 2.0, 2.0, 1.0, 0.0, 0.0, 0.0]
    )
    # What the policy and the evaluation count as ruled is the same set of rows.
    np.testing.assert_array_equal(matched(features, DAILY_RULES), [True, True, True, True, True, False, False])


def test_a_group_rule_needs_the_as_of_day():
    features, scores = _ring_day()
    with pytest.raises(ValueError, match=r"needs features \['as_of_date'\]"):
        apply_rules(scores, features.drop(columns=["as_of_date"]), (SHILL_RING_MEMBERS,))


def test_the_daily_run_applies_the_ring_rule_and_not_the_takeover_rule():
    assert RING_SIGNUPS in DAILY_RULES and TAKEOVER_LOGIN not in DAILY_RULES
    assert SHILL_LINKED_BIDS in DAILY_RULES and SHILL_LINKED_BIDDERS in DAILY_RULES
    assert all(rule in INTRADAY_RULES for rule in DAILY_RULES)  # the near-real-time path never decides less
    scores = apply_rules(_scores(), _features()).set_index("account_id")
    assert scores.loc["ring", "band"] == "review" and scores.loc["hijacked", "band"] == "allow"
    both = apply_rules(_scores(), _features(), INTRADAY_RULES).set_index("account_id")
    assert both.loc["ring", "reason_code_1"] == RING_SIGNUPS.code
    assert both.loc["hijacked", "reason_code_1"] == TAKEOVER_LOGIN.code


@pytest.fixture(scope="module")
def day():
    return small_day(600, seed=3)


def test_scoring_a_day_reviews_the_rings_the_model_allows_with_the_rule_as_their_only_reason(day):
    model, policy, features = day
    features = features.copy()
    plain = score_accounts(features, model, policy, **META, rules=())
    allowed, blocked = plain.index[plain["band"] == "allow"][:3], plain.index[plain["band"] == "block"][:1]
    features.loc[[*allowed, *blocked], "linked_created_within_7d"] = 5
    features.loc[[*allowed, *blocked], "linked_group_id"] = "group_ring"

    scores = score_accounts(features, model, policy, **META)

    assert (scores.loc[allowed, "band"] == "review").all()
    assert (scores.loc[allowed, "reason_code_1"] == RING_SIGNUPS.code).all()
    assert scores.loc[allowed, ["reason_code_2", "reason_code_3"]].isna().all().all()
    assert (scores.loc[blocked, "band"] == "block").all()
    assert (scores.loc[blocked, "reason_code_1"] != RING_SIGNUPS.code).all()
    np.testing.assert_array_equal(scores["score"], plain["score"])  # the score stays the model's
    others = scores.index.difference(allowed)
    assert (scores.loc[others, "band"] == plain.loc[others, "band"]).all()
    # Explaining the day gives the same bands and, for the rule's rows, the rule's reason.
    explained = explain_accounts(features, model, policy)
    np.testing.assert_array_equal(explained["band"], scores["band"])
    assert (explained.loc[allowed, "reason_code_1"] == RING_SIGNUPS.code).all()
    # The MLflow model takes model features only: it cannot see the ring's group, so it bands
    # with the rules that read model features alone (the shill rules).
    assert rules_on_inputs(FEATURES) == (SHILL_LINKED_BIDDERS, SHILL_LINKED_BIDS)
    assert rules_on_inputs([*FEATURES, "linked_group_id"]) == (RING_SIGNUPS, SHILL_LINKED_BIDDERS, SHILL_LINKED_BIDS)
    # The 90-day counts are mart columns for the rules only, not model features.
    rules_only = ["bids_on_linked_sellers_90d", "linked_bidder_share_90d", "bids_received_90d"]
    assert not set(rules_only) & set(FEATURES)
    assert rules_on_inputs([*FEATURES, "linked_group_id", "as_of_date"]) == (
        RING_SIGNUPS,
        SHILL_LINKED_BIDDERS,
        SHILL_LINKED_BIDS,
    )
    assert rules_on_inputs([*FEATURES, *rules_only, "linked_group_id", "as_of_date"]) == DAILY_RULES
    np.testing.assert_array_equal(policy.band(scores["score"].to_numpy()), plain["band"])
    np.testing.assert_array_equal(
        policy.band(scores["score"].to_numpy(), None, matched(features, DAILY_RULES)), scores["band"]
    )


def test_a_daily_rule_review_says_so_in_the_sync_and_the_model_says_model():
    scores = apply_rules(_scores(), _features())
    nobody = pd.DataFrame({name: pd.Series(dtype="object") for name, _ in SYNC_COLUMNS})

    diff = sync.diff_sync(nobody, scores, DAY, NOW, "run-1")

    history = diff.decisions.set_index("account_id")
    assert history.loc["ring", "decision"] == "review"
    assert history.loc["ring", "change_reason"] == f"rule {RING_SIGNUPS.code} (model band allow)"
    assert history.loc["flagged", "change_reason"] == sync.MODEL


def test_a_rule_escalation_is_a_review_whose_change_reason_names_the_rule():
    scores = apply_rules(_scores(), _features(), INTRADAY_RULES).assign(
        batch_id="b1", trigger_files="logins/x.csv", run_id="b1"
    )
    nobody = pd.DataFrame({name: pd.Series(dtype="object") for name, _ in SYNC_COLUMNS})

    diff = escalate.escalation_diff(nobody, scores, DAY, NOW, "b1")

    history = diff.decisions.set_index("account_id")
    assert sorted(history.index) == ["flagged", "hijacked", "ring"]
    assert history.loc["hijacked", "decision"] == "review"
    assert history.loc["hijacked", "change_reason"].startswith(
        f"intraday b1: rule {TAKEOVER_LOGIN.code} (model band allow), features through"
    )
    assert history.loc["flagged", "change_reason"].startswith("intraday b1: block band")
    assert escalate.escalations_explained(diff).passed


def test_rules_refuse_rows_without_their_features_or_out_of_order():
    with pytest.raises(ValueError, match="needs features"):
        apply_rules(_scores(), _features().drop(columns=["new_devices_1d"]), INTRADAY_RULES)
    with pytest.raises(ValueError, match="needs features"):
        apply_rules(_scores(), _features().drop(columns=["linked_created_within_7d"]))
    with pytest.raises(ValueError, match="needs features"):
        apply_rules(_scores(), _features().drop(columns=["linked_group_id"]))
    with pytest.raises(ValueError, match="same order"):
        apply_rules(_scores(), _features().iloc[::-1])


def test_rule_codes_are_not_model_reason_codes_and_rules_never_quote_a_zero():
    # The change reason tells a rule's escalation from the model's by the first reason code.
    assert not RULE_CODES & {reason.code for reason in VOCABULARY.values()}
    # A rule's text quotes the values it matched on, each at least its minimum: printed at its
    # minimum (as the text formats it), none reads as zero.
    for rule in INTRADAY_RULES:
        quoted = {field: spec for _, field, spec, _ in string.Formatter().parse(rule.text) if field}
        assert set(quoted) == set(rule.minimums), rule.code
        for feature, minimum in rule.minimums.items():
            assert minimum > 0 and format(float(minimum), quoted[feature]).strip("0%.") != "", (rule.code, feature)
