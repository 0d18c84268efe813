from datetime import date, timedelta

import pandas as pd
import pytest

from ml.train.split import SplitConfig, plan_split


def test_no_label_window_of_an_earlier_block_reaches_the_next_block():
    config = SplitConfig(label_horizon_days=30, gap_days=30, validation_days=21, test_days=21)
    split = plan_split(date(2026, 1, 1), date(2026, 7, 25), config)

    horizon = timedelta(days=config.label_horizon_days)
    assert split.train_end + horizon < split.validation_start
    assert split.validation_end + horizon < split.test_start
    assert split.test_end == date(2026, 7, 25)
    assert (split.test_end - split.test_start).days + 1 == 21
    assert (split.validation_end - split.validation_start).days + 1 == 21


def test_every_row_lands_in_exactly_one_block_or_a_gap():
    split = plan_split(date(2026, 1, 1), date(2026, 7, 25), SplitConfig())
    days = pd.Series(pd.date_range("2026-01-01", "2026-07-25", freq="D"))

    blocks = split.block_of(days)

    assert set(blocks) == {"train", "gap", "validation", "test"}
    assert blocks.iloc[0] == "train" and blocks.iloc[-1] == "test"
    train_last = days[blocks == "train"].max()
    assert days[blocks == "validation"].min() - train_last > pd.Timedelta(days=30)
    assert (blocks == "gap").sum() == 2 * 30


def test_a_gap_shorter_than_the_label_horizon_is_refused():
    with pytest.raises(ValueError, match="gap_days"):
        plan_split(date(2026, 1, 1), date(2026, 7, 25), SplitConfig(label_horizon_days=30, gap_days=20))


def test_too_little_history_for_the_split_is_a_clear_error():
    with pytest.raises(ValueError, match="training days"):
        plan_split(date(2026, 5, 1), date(2026, 7, 25), SplitConfig())


def test_boundaries_are_loggable_params():
    params = plan_split(date(2026, 1, 1), date(2026, 7, 25), SplitConfig()).as_params()
    assert params["split_test_end"] == "2026-07-25"
    assert params["split_gap_days"] == 30
