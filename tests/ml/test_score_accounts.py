"""Scoring a day: reasons at scoring time for review/block accounts only, and nothing else moves."""

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.score.checks import BANDS
from ml.score.schema import SCORES_COLUMNS
from ml.score.scoring import REASON_BANDS, REASON_NAMES, as_of_dates, model_inputs, reasons_for, score_accounts
from tests.ml.synthetic_scoring import META, small_day


@pytest.fixture(scope="module")
def day():
    return small_day(2000, seed=1)


def test_reasons_are_written_for_review_and_block_accounts_only(day):
    model, policy, features = day
    scores = score_accounts(features, model, policy, **META)

    flagged = scores["band"].isin(REASON_BANDS)
    assert REASON_BANDS == ("review", "block")
    assert 40 <= flagged.sum() <= 300 and (scores["band"] == "block").any()
    assert scores.loc[flagged, "reason_code_1"].notna().all() and scores.loc[flagged, "reason_text_1"].notna().all()
    assert scores.loc[~flagged, REASON_NAMES].isna().all().all()


def test_flagged_accounts_get_exactly_the_reasons_of_scoring_every_account(day):
    model, policy, features = day
    default = score_accounts(features, model, policy, **META)
    everyone = score_accounts(features, model, policy, **META, reason_bands=BANDS)

    assert everyone["reason_code_1"].notna().sum() > 0.9 * len(everyone)  # allow rows have reasons too
    flagged = default["band"] != "allow"
    pd.testing.assert_frame_equal(default[flagged], everyone[flagged])
    others = [name for name, _ in SCORES_COLUMNS if name not in REASON_NAMES]
    pd.testing.assert_frame_equal(default[others], everyone[others])


def test_without_reasons_no_account_gets_any(day):
    model, policy, features = day
    scores = score_accounts(features, model, policy, **META, with_reasons=False)
    assert scores[REASON_NAMES].isna().all().all() and len(scores) == len(features)
    assert list(scores.columns) == [name for name, _ in SCORES_COLUMNS]


def test_an_unknown_band_in_reason_bands_is_refused(day):
    model, policy, features = day
    with pytest.raises(ValueError, match=r"unknown bands in reason_bands: \['flagged'\]"):
        score_accounts(features, model, policy, **META, reason_bands=("review", "flagged"))


def test_an_accounts_reasons_do_not_depend_on_the_rows_explained_with_it(day):
    # What lets scoring explain only the flagged rows and `explain` one account at a time.
    model, _, features = day
    values = model_inputs(features, model)
    whole = reasons_for(values, model)
    picked = np.random.default_rng(5).choice(len(values), size=25, replace=False)
    pd.testing.assert_frame_equal(reasons_for(values.iloc[picked], model), whole.iloc[picked])
    one = reasons_for(values.iloc[[int(picked[0])]], model)
    pd.testing.assert_frame_equal(one, whole.iloc[[int(picked[0])]])
    assert whole["reason_code_1"].notna().sum() > 0.9 * len(whole)


def test_no_rows_to_explain_gives_empty_reason_columns(day):
    model, _, features = day
    empty = reasons_for(model_inputs(features, model).iloc[:0], model)
    assert list(empty.columns) == REASON_NAMES and empty.empty


def test_the_fast_prediction_is_bit_for_bit_the_dmatrix_prediction(day):
    # Scores stored before inplace_predict must be reproducible by `explain`.
    model, _, features = day
    values = model_inputs(features, model)
    matrix = xgb.DMatrix(values.astype("float32"), feature_names=model.features)
    expected = model.booster.predict(matrix, iteration_range=(0, model.best_iteration + 1))
    np.testing.assert_array_equal(model.predict_raw(values), expected)
    np.testing.assert_array_equal(model.predict_raw(features), expected)  # int64 columns as well


def test_as_of_dates_are_dates_whatever_the_input_type():
    expected = [date(2026, 9, 30), date(2026, 10, 1)]
    for column in (
        pd.Series(expected),
        pd.Series(["2026-09-30", "2026-10-01"]),
        pd.Series(pd.to_datetime(["2026-09-30", "2026-10-01"])),
        pd.Series([datetime(2026, 9, 30, 0, 0), datetime(2026, 10, 1, 0, 0)], dtype=object),
    ):
        converted = as_of_dates(column).tolist()
        assert converted == expected and all(type(d) is date for d in converted), column


def test_each_account_carries_its_linked_group_and_the_group_is_never_a_model_input(day):
    model, policy, features = day
    groups = np.where(np.arange(len(features)) % 3 == 0, "group_" + features["account_id"].astype(str), None)

    scores = score_accounts(features.assign(linked_group_id=groups), model, policy, **META)

    assert scores["group_id"].tolist() == groups.tolist()
    assert "linked_group_id" not in model.features
    pd.testing.assert_frame_equal(
        scores.drop(columns="group_id"), score_accounts(features, model, policy, **META).drop(columns="group_id")
    )
    assert score_accounts(features, model, policy, **META)["group_id"].isna().all()  # rows without the column


class _ContextOnly:
    """A model whose every positive contribution is on a context feature (sales volume)."""

    def contributions(self, values: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(-0.1, index=values.index, columns=values.columns)
        frame["orders_sold_30d"] = 2.0
        return frame


def test_an_account_with_no_quotable_value_gets_the_combined_signals_reason():
    from ml.score.reasons import COMBINED_SIGNALS, EXAMPLE_ROW, VOCABULARY

    values = pd.DataFrame([{f: float(v) for f, v in EXAMPLE_ROW.items() if f in VOCABULARY}] * 2)

    reasons = reasons_for(values, _ContextOnly())

    assert reasons[["reason_code_1", "reason_text_1"]].values.tolist() == [list(COMBINED_SIGNALS)] * 2
    assert reasons[["reason_code_2", "reason_code_3"]].isna().all().all()
