"""Rules: a pattern the model does not score moves an `allow` row to `review`, with the rule as
its reason; the decision's change reason names the rule; the model's own flags are untouched.
The ring rule runs in the daily run, the takeover rule only in the near-real-time path."""

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
            "failed_logins_1d": [6, 0, 4, 7, None, 0, 0],
            "new_devices_1d": [1, 2, 0, 1, 1, 0, 0],
            "linked_created_within_7d": [0, 0, 0, 5, 0, 4, 2],
            "linked_group_id": [None, None, None, "group_f", None, "group_r", "group_p"],
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


def test_the_daily_run_applies_the_ring_rule_and_not_the_takeover_rule():
    assert RING_SIGNUPS in DAILY_RULES and TAKEOVER_LOGIN not in DAILY_RULES
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
    # with the rules that read model features alone (today none of the daily rules).
    assert rules_on_inputs(FEATURES) == () and rules_on_inputs([*FEATURES, "linked_group_id"]) == DAILY_RULES
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
    # A rule's text quotes the values it matched on: each at least its minimum, never 0.
    for rule in INTRADAY_RULES:
        assert all(minimum >= 1 for minimum in rule.minimums.values()), rule.code
        assert all("{" + feature + "}" in rule.text for feature in rule.minimums), rule.code
