"""Checks on one as-of day of written scores (read back from the warehouse)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BANDS = ("allow", "review", "block")


@dataclass(frozen=True)
class BandJumpBound:
    """A band's share of accounts may move day over day by the larger of these."""

    relative: float = 0.5  # e.g. 1.0% -> 1.5%
    absolute: float = 0.002  # 0.2 percentage points, so tiny bands do not alert on noise


# Beyond this a day's bands are not believable (a broken feature, a wrong model): stop the sync.
IMPLAUSIBLE_JUMP = BandJumpBound(relative=3.0, absolute=0.01)


def band_rates(scores: pd.DataFrame) -> dict[str, float]:
    counts = scores["band"].value_counts()
    total = max(len(scores), 1)
    return {band: float(counts.get(band, 0)) / total for band in BANDS}


def no_missing_scores(scores: pd.DataFrame) -> tuple[bool, str]:
    score = pd.to_numeric(scores["score"], errors="coerce").to_numpy(float)
    missing = int((~np.isfinite(score)).sum()) + int(scores["band"].isna().sum())
    return missing == 0, f"{missing} null/NaN scores or bands among {len(scores)} rows"


def scores_within_unit_interval(scores: pd.DataFrame) -> tuple[bool, str]:
    score = pd.to_numeric(scores["score"], errors="coerce")
    outside = int(((score < 0) | (score > 1)).sum())
    return outside == 0, f"{outside} scores outside [0, 1]; min {score.min():.4f}, max {score.max():.4f}"


def population_matches(scores: pd.DataFrame, feature_rows: int) -> tuple[bool, str]:
    """Every account with a feature row that day is scored once, and nothing else is."""
    scored, distinct = len(scores), scores["account_id"].nunique()
    ok = scored == distinct == feature_rows
    return ok, f"{scored} score rows ({distinct} accounts) for {feature_rows} feature rows"


def band_rates_stable(
    today: dict[str, float], previous: dict[str, float] | None, bound: BandJumpBound = BandJumpBound()
) -> tuple[bool, str]:
    if previous is None:
        return True, "no previous day to compare with"
    jumps = []
    for band in ("review", "block"):
        allowed = max(bound.relative * previous[band], bound.absolute)
        if abs(today[band] - previous[band]) > allowed:
            jumps.append(f"{band} {previous[band]:.2%} -> {today[band]:.2%} (bound ±{allowed:.2%})")
    return not jumps, "; ".join(jumps) or "review and block rates within bounds of the previous day"
