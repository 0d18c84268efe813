"""Intraday rules: a pattern the model does not score yet moves an `allow` row to `review`, with
the rule as its reason; the escalation names the rule; the model's own flags are untouched."""

from datetime import date, datetime

import pandas as pd
import pytest

from ml.live import escalate
from ml.live.rules import RULE_CODES, TAKEOVER_LOGIN, apply_rules
from ml.score.reasons import VOCABULARY
from ml.score.schema import SYNC_COLUMNS
from tests.reverse_etl_helpers import synthetic_scores

DAY = date(2026, 9, 2)
NOW = datetime(2026, 9, 2, 14, 1)


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["hijacked", "traveller", "forgetful", "flagged", "unknown"],
            "failed_logins_1d": [6, 0, 4, 7, None],
            "new_devices_1d": [1, 2, 0, 1, 1],
        }
    ).sort_values("account_id", ignore_index=True)  # the scores' order


def _scores() -> pd.DataFrame:
    bands = {"hijacked": "allow", "traveller": "allow", "forgetful": "allow", "flagged": "block", "unknown": "allow"}
    return synthetic_scores(DAY, bands, seed=5).assign(features_ingested_through=datetime(2026, 9, 2, 13, 0))


def test_the_takeover_rule_reviews_failed_logins_then_a_new_device_and_nothing_else():
    scores = _scores()
    ruled = apply_rules(scores, _features()).set_index("account_id")

    assert ruled.loc["hijacked", "band"] == "review"
    assert ruled.loc["hijacked", "reason_code_1"] == TAKEOVER_LOGIN.code
    assert ruled.loc["hijacked", "reason_text_1"] == "6 failed logins and a login from 1 new device(s) today"
    assert pd.isna(ruled.loc["hijacked", "reason_code_2"]) and pd.isna(ruled.loc["hijacked", "reason_text_3"])
    assert ruled.loc["hijacked", "score"] == scores.set_index("account_id").loc["hijacked", "score"]
    # A new device without failures, failures without a new device, an unknown count: no match.
    assert (ruled.loc[["traveller", "forgetful", "unknown"], "band"] == "allow").all()
    # The model's own flag keeps its band and its reasons.
    before = scores.set_index("account_id").loc["flagged"]
    assert ruled.loc["flagged", "band"] == "block"
    assert ruled.loc["flagged", "reason_code_1"] == before["reason_code_1"]


def test_a_rule_escalation_is_a_review_whose_change_reason_names_the_rule():
    scores = apply_rules(_scores(), _features()).assign(batch_id="b1", trigger_files="logins/x.csv", run_id="b1")
    nobody = pd.DataFrame({name: pd.Series(dtype="object") for name, _ in SYNC_COLUMNS})

    diff = escalate.escalation_diff(nobody, scores, DAY, NOW, "b1")

    history = diff.decisions.set_index("account_id")
    assert sorted(history.index) == ["flagged", "hijacked"]
    assert history.loc["hijacked", "decision"] == "review"
    assert history.loc["hijacked", "change_reason"].startswith(
        f"intraday b1: rule {TAKEOVER_LOGIN.code} (model band allow), features through"
    )
    assert history.loc["flagged", "change_reason"].startswith("intraday b1: block band")
    assert escalate.escalations_explained(diff).passed


def test_rules_refuse_rows_without_their_features_or_out_of_order():
    with pytest.raises(ValueError, match="needs features"):
        apply_rules(_scores(), _features().drop(columns=["new_devices_1d"]))
    with pytest.raises(ValueError, match="same order"):
        apply_rules(_scores(), _features().iloc[::-1])


def test_rule_codes_are_not_model_reason_codes():
    # The change reason tells a rule's escalation from the model's by the first reason code.
    assert not RULE_CODES & {reason.code for reason in VOCABULARY.values()}
