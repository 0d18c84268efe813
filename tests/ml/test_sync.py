from datetime import date, datetime

import pandas as pd
import pytest

from ml.score.reasons import COMBINED_SIGNALS
from ml.score.schema import SYNC_COLUMNS
from ml.score.sync import TOMBSTONE, diff_sync

NOW = datetime(2026, 7, 2, 6, 0)
EMPTY = pd.DataFrame({name: pd.Series(dtype="object") for name, _ in SYNC_COLUMNS})


def _scores(bands: dict[str, str], day: date = date(2026, 7, 1)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": list(bands),
            "as_of_date": day,
            "score": [{"allow": 0.01, "review": 0.2, "block": 0.6}[b] for b in bands.values()],
            "band": list(bands.values()),
            "group_id": None,
            **{f"reason_{kind}_{i}": None for i in (1, 2, 3) for kind in ("code", "text")},
            "model_name": "m",
            "model_version": "1",
        }
    )


def _apply(current: pd.DataFrame, diff) -> pd.DataFrame:
    """What the MERGE does: upserts replace rows with the same sync key."""
    kept = current[~current["sync_key"].isin(diff.upserts["sync_key"])]
    return pd.DataFrame.from_records(kept.to_dict("records") + diff.upserts.to_dict("records"), columns=kept.columns)


def test_the_first_day_inserts_one_row_per_account_with_its_decision():
    diff = diff_sync(EMPTY, _scores({"a": "allow", "b": "review", "c": "block"}), date(2026, 7, 1), NOW, "r1")

    rows = diff.upserts.set_index("account_id")
    assert rows["decision"].to_dict() == {"a": "none", "b": "review", "c": "block"}
    assert (rows["effective_from"] == date(2026, 7, 1)).all() and not rows["is_tombstone"].any()
    assert diff.decisions["previous_decision"].isna().all() and len(diff.decisions) == 3


def test_a_decision_carries_the_accounts_linked_group_to_the_product_and_the_history():
    scores = _scores({"a": "block", "b": "review", "c": "allow"}).assign(group_id=["group_a", "group_a", None])

    diff = diff_sync(EMPTY, scores, date(2026, 7, 1), NOW, "r1")

    assert diff.upserts.set_index("account_id")["group_id"].to_dict() == {"a": "group_a", "b": "group_a", "c": None}
    assert diff.decisions.set_index("account_id")["group_id"].to_dict() == {"a": "group_a", "b": "group_a", "c": None}


def test_a_block_without_a_specific_reason_is_held_for_review():
    scores = _scores({"a": "block", "b": "block"})
    scores.loc[0, ["reason_code_1", "reason_text_1"]] = list(COMBINED_SIGNALS)
    scores.loc[1, ["reason_code_1", "reason_text_1"]] = ["CARD_VELOCITY", "3 cards added in the last day"]

    diff = diff_sync(EMPTY, scores, date(2026, 7, 1), NOW, "r1")

    rows = diff.upserts.set_index("account_id")
    assert rows["decision"].to_dict() == {"a": "review", "b": "block"}
    assert rows.loc["a", "band"] == "block"  # the model's band stays on record
    why = diff.decisions.set_index("account_id")["change_reason"]
    assert why["a"] == "model block held for review: no single value is evidence on its own"
    assert why["b"] == "model"


def test_only_decision_changes_are_upserted_not_score_drift():
    current = _apply(EMPTY, diff_sync(EMPTY, _scores({"a": "allow", "b": "review"}), date(2026, 7, 1), NOW, "r1"))
    later = _scores({"a": "allow", "b": "block"}, date(2026, 7, 2))
    later.loc[0, "score"] = 0.05  # drifts inside its band: no change

    diff = diff_sync(current, later, date(2026, 7, 2), NOW, "r2")

    assert list(diff.upserts["account_id"]) == ["b"]
    assert diff.decisions.iloc[0][["decision", "previous_decision"]].tolist() == ["block", "review"]
    assert diff.upserts.iloc[0]["effective_from"] == date(2026, 7, 2)


def test_the_same_scores_again_change_nothing():
    scores = _scores({"a": "allow", "b": "block"})
    current = _apply(EMPTY, diff_sync(EMPTY, scores, date(2026, 7, 1), NOW, "r1"))

    again = diff_sync(current, scores, date(2026, 7, 1), NOW, "r2")

    assert again.changed == 0 and len(again.decisions) == 0 and again.tombstoned == 0


def test_an_account_that_leaves_the_population_gets_a_tombstone_and_can_come_back():
    current = _apply(EMPTY, diff_sync(EMPTY, _scores({"a": "allow", "b": "review"}), date(2026, 7, 1), NOW, "r1"))

    gone = diff_sync(current, _scores({"a": "allow"}, date(2026, 7, 2)), date(2026, 7, 2), NOW, "r2")
    current = _apply(current, gone)

    assert gone.tombstoned == 1
    tomb = current.set_index("account_id").loc["b"]
    assert tomb["decision"] == TOMBSTONE and tomb["is_tombstone"] and pd.isna(tomb["score"])
    assert tomb["effective_from"] == date(2026, 7, 2)
    assert gone.decisions.iloc[0][["decision", "previous_decision"]].tolist() == [TOMBSTONE, "review"]
    # A tombstone is not tombstoned twice...
    assert diff_sync(current, _scores({"a": "allow"}, date(2026, 7, 3)), date(2026, 7, 3), NOW, "r3").changed == 0
    # ...and an account that comes back gets a live row again.
    back = diff_sync(current, _scores({"a": "allow", "b": "review"}, date(2026, 7, 4)), date(2026, 7, 4), NOW, "r4")
    assert back.upserts.set_index("account_id").loc["b", "is_tombstone"] == False  # noqa: E712
    assert back.decisions.iloc[0]["previous_decision"] == TOMBSTONE


def test_a_blocked_account_that_goes_quiet_stays_blocked():
    current = _apply(EMPTY, diff_sync(EMPTY, _scores({"a": "allow", "b": "block"}), date(2026, 7, 1), NOW, "r1"))

    gone = diff_sync(current, _scores({"a": "allow"}, date(2026, 7, 2)), date(2026, 7, 2), NOW, "r2")

    row = gone.upserts.set_index("account_id").loc["b"]
    assert row["decision"] == "block" and row["is_tombstone"] and row["score"] == 0.6
    assert row["effective_from"] == date(2026, 7, 1)  # blocked since then, not since going quiet


def test_a_day_missing_many_live_accounts_is_refused_as_a_data_problem():
    everyone = {f"a{i}": "allow" for i in range(200)}
    current = _apply(EMPTY, diff_sync(EMPTY, _scores(everyone), date(2026, 7, 1), NOW, "r1"))
    partial = {k: v for i, (k, v) in enumerate(everyone.items()) if i < 150}  # a quarter missing

    with pytest.raises(ValueError, match="50 of 200 live accounts are missing"):
        diff_sync(current, _scores(partial, date(2026, 7, 2)), date(2026, 7, 2), NOW, "r2")
    few_gone = {k: v for i, (k, v) in enumerate(everyone.items()) if i < 195}
    assert diff_sync(current, _scores(few_gone, date(2026, 7, 2)), date(2026, 7, 2), NOW, "r2").tombstoned == 5


def test_a_day_with_an_account_twice_or_an_unknown_band_is_refused():
    with pytest.raises(ValueError, match="more than once"):
        diff_sync(EMPTY, _scores({"a": "allow"}).pipe(lambda f: pd.concat([f, f])), date(2026, 7, 1), NOW, "r")
    with pytest.raises(ValueError, match="unknown bands"):
        diff_sync(EMPTY, _scores({"a": "allow"}).assign(band="maybe"), date(2026, 7, 1), NOW, "r")


def _lifts(*rows: tuple[str, datetime, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "lifted_at", "description"])


def _day(current: pd.DataFrame, bands: dict[str, str], day: date, lifts: pd.DataFrame | None = None):
    diff = diff_sync(current, _scores(bands, day), day, NOW, f"r{day.day}", lifts=lifts)
    return _apply(current, diff), diff


def test_a_blocked_account_whose_score_falls_to_allow_stays_blocked():
    current, _ = _day(EMPTY, {"a": "block", "b": "review"}, date(2026, 7, 1))

    current, diff = _day(current, {"a": "allow", "b": "allow"}, date(2026, 7, 2))

    assert list(diff.decisions["account_id"]) == ["b"]  # the review ends; the block does not
    row = current.set_index("account_id").loc["a"]
    assert row["decision"] == "block" and row["effective_from"] == date(2026, 7, 1) and row["score"] == 0.6


def test_a_reinstatement_after_the_block_took_effect_lifts_it_and_says_why():
    current, _ = _day(EMPTY, {"a": "block"}, date(2026, 7, 1))
    before = _lifts(("a", datetime(2026, 7, 1, 12, 0), "reinstate x0 (appeal) at 2026-07-01 12:00"))
    appeal = _lifts(("a", datetime(2026, 7, 3, 9, 0), "reinstate x1 (appeal) at 2026-07-03 09:00"))

    # A reinstatement from before the block was applied is about something else.
    _, early = _day(current, {"a": "allow"}, date(2026, 7, 3), lifts=before)
    current, lifted = _day(current, {"a": "allow"}, date(2026, 7, 3), lifts=appeal)

    assert early.changed == 0
    decision = lifted.decisions.iloc[0]
    assert decision[["decision", "previous_decision"]].tolist() == ["none", "block"]
    assert decision["change_reason"] == "reinstate x1 (appeal) at 2026-07-03 09:00"


def test_a_reinstated_account_the_model_still_blocks_is_held_for_review():
    current, _ = _day(EMPTY, {"a": "block"}, date(2026, 7, 1))
    appeal = _lifts(("a", datetime(2026, 7, 3, 9, 0), "reinstate x1 (appeal)"))

    current, lifted = _day(current, {"a": "block"}, date(2026, 7, 3), lifts=appeal)
    current, again = _day(current, {"a": "block"}, date(2026, 7, 4), lifts=appeal)
    _, later = _day(current, {"a": "block"}, date(2026, 8, 2), lifts=appeal)  # the hold is over

    assert lifted.decisions.iloc[0][["decision", "previous_decision"]].tolist() == ["review", "block"]
    assert again.changed == 0
    assert later.decisions.iloc[0][["decision", "change_reason"]].tolist() == ["block", "model"]


def test_a_tombstoned_block_that_comes_back_is_still_a_block():
    current, _ = _day(EMPTY, {"a": "block", "b": "allow"}, date(2026, 7, 1))
    current, _ = _day(current, {"b": "allow"}, date(2026, 7, 2))  # a goes quiet: tombstoned block

    current, back = _day(current, {"a": "allow", "b": "allow"}, date(2026, 7, 3))

    row = current.set_index("account_id").loc["a"]
    assert row["decision"] == "block" and not row["is_tombstone"] and row["effective_from"] == date(2026, 7, 1)
    decision = back.decisions.iloc[0]
    assert decision[["decision", "previous_decision"]].tolist() == ["block", "block"]
    assert decision["change_reason"].startswith("returned")
    # Only a human lift ends it, even now.
    appeal = _lifts(("a", datetime(2026, 7, 4, 9, 0), "reinstate x1 (manual_review)"))
    _, lifted = _day(current, {"a": "allow", "b": "allow"}, date(2026, 7, 4), lifts=appeal)
    assert lifted.decisions.iloc[0][["decision", "change_reason"]].tolist() == ["none", "reinstate x1 (manual_review)"]
