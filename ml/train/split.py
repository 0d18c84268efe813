"""Out-of-time split of labelled snapshots: train | gap | validation | gap | test.

A snapshot's label looks `label_horizon_days` ahead, so a training row from day t "sees" up to
t + horizon. Gaps at least as long as the horizon keep every training label window out of the
validation block, and every validation label window out of the test block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import pandas as pd

BLOCKS = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitConfig:
    label_horizon_days: int = 30
    gap_days: int = 30
    validation_days: int = 21
    test_days: int = 21
    min_train_days: int = 28


@dataclass(frozen=True)
class OutOfTimeSplit:
    train_start: date
    train_end: date
    validation_start: date
    validation_end: date
    test_start: date
    test_end: date
    gap_days: int

    def as_params(self) -> dict[str, str | int]:
        """Flat, loggable boundaries (e.g. as MLflow params)."""
        return {f"split_{k}": (str(v) if isinstance(v, date) else v) for k, v in asdict(self).items()}

    def block_of(self, as_of_dates: pd.Series) -> pd.Series:
        """`train`, `validation`, `test`, or `gap` (rows outside every block) per as-of date."""
        days = pd.to_datetime(as_of_dates).dt.date
        block = pd.Series("gap", index=as_of_dates.index, dtype="object")
        for name in BLOCKS:
            start, end = getattr(self, f"{name}_start"), getattr(self, f"{name}_end")
            block[(days >= start) & (days <= end)] = name
        return block


def plan_split(first_day: date, last_final_day: date, config: SplitConfig) -> OutOfTimeSplit:
    """Place the blocks backwards from the last day whose labels are final.

    The test block is the most recent; validation sits one gap before it; training takes
    everything from `first_day` to one gap before validation.
    """
    if config.gap_days < config.label_horizon_days:
        raise ValueError(
            f"gap_days ({config.gap_days}) must be at least label_horizon_days ({config.label_horizon_days}),"
            " or training labels would overlap the validation period"
        )
    one = timedelta(days=1)
    test_end = last_final_day
    test_start = test_end - timedelta(days=config.test_days) + one
    validation_end = test_start - timedelta(days=config.gap_days) - one
    validation_start = validation_end - timedelta(days=config.validation_days) + one
    train_end = validation_start - timedelta(days=config.gap_days) - one
    train_days = (train_end - first_day).days + 1
    if train_days < config.min_train_days:
        raise ValueError(
            f"only {train_days} training days between {first_day} and {train_end}; need {config.min_train_days}"
            f" (labelled history {first_day}..{last_final_day} is too short for this split)"
        )
    return OutOfTimeSplit(
        train_start=first_day,
        train_end=train_end,
        validation_start=validation_start,
        validation_end=validation_end,
        test_start=test_start,
        test_end=test_end,
        gap_days=config.gap_days,
    )
