"""Pure checks behind the publication gate: one as-of day's scores, and its raw data.

Every check returns a `CheckResult`. A failed check of severity `error` blocks publication of
the day; a `warn` is recorded and shown but does not block. The thresholds are
`ml.score.thresholds.PublicationThresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from ml.score.schema import FIRST_REASON
from ml.score.thresholds import PublicationThresholds

BANDS = ("allow", "review", "block")
FLAGGED_BANDS = ("review", "block")
ERROR, WARN = "error", "warn"


@dataclass(frozen=True)
class CheckResult:
    check: str  # e.g. `volume.orders`, `band_rate.block`
    passed: bool
    detail: str
    severity: str = ERROR
    statistic: float | None = None  # the number the check judged (a ratio, a share, hours)

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == ERROR


# --- counts -------------------------------------------------------------------------------


def poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam)."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    log_pmf = -lam + np.concatenate([[0.0], np.cumsum(np.log(lam / np.arange(1, k + 1)))])
    top = log_pmf.max()
    return float(min(1.0, math.exp(top) * np.exp(log_pmf - top).sum()))


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed upwards (no 1 - cdf cancellation)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        return 1.0 - poisson_cdf(k - 1, lam)
    terms = [-lam + k * math.log(lam) - math.lgamma(k + 1)]
    i = k
    while terms[-1] - terms[0] > -40 and len(terms) < 100_000:  # terms shrink once i > lam
        i += 1
        terms.append(terms[-1] + math.log(lam / i))
    values = np.exp(np.array(terms))
    return float(min(1.0, values.sum()))


# --- scores -------------------------------------------------------------------------------


def band_rates(scores: pd.DataFrame) -> dict[str, float]:
    counts = scores["band"].value_counts()
    total = max(len(scores), 1)
    return {band: float(counts.get(band, 0)) / total for band in BANDS}


def no_missing_scores(scores: pd.DataFrame) -> CheckResult:
    score = pd.to_numeric(scores["score"], errors="coerce").to_numpy(float)
    missing = int((~np.isfinite(score)).sum()) + int(scores["band"].isna().sum())
    detail = f"{missing} null/NaN scores or bands among {len(scores)} rows"
    return CheckResult("no_missing_scores", missing == 0, detail, ERROR, missing)


def unexplained(rows: pd.DataFrame) -> int:
    """Rows without their first reason's code or text."""
    return int(rows[list(FIRST_REASON)].isna().any(axis=1).sum())


def decisions_explained(scores: pd.DataFrame) -> CheckResult:
    """Every account flagged for review or block carries its first reason, code and text: the
    product notifies and a reviewer works from it, so a decision nobody can explain is refused."""
    flagged = scores[scores["band"].isin(FLAGGED_BANDS)]
    missing = unexplained(flagged)
    detail = f"{missing} of {len(flagged)} flagged accounts without a reason code and text"
    return CheckResult("decisions_explained", missing == 0, detail, ERROR, missing)


def scores_within_unit_interval(scores: pd.DataFrame) -> CheckResult:
    score = pd.to_numeric(scores["score"], errors="coerce")
    outside = int(((score < 0) | (score > 1)).sum())
    return CheckResult(
        "scores_within_unit_interval",
        outside == 0,
        f"{outside} scores outside [0, 1]; min {score.min():.4f}, max {score.max():.4f}",
        ERROR,
        outside,
    )


def population_matches(scores: pd.DataFrame, feature_rows: int) -> CheckResult:
    """Every account with a feature row that day is scored once, and nothing else is."""
    scored, distinct = len(scores), scores["account_id"].nunique()
    ok = scored == distinct == feature_rows > 0
    return CheckResult(
        "population_matches_features",
        ok,
        f"{scored} score rows ({distinct} accounts) for {feature_rows} feature rows",
        ERROR,
        scored,
    )


def band_rate_stable(
    band: str, count: int, total: int, baseline_rates: Sequence[float], thresholds: PublicationThresholds
) -> CheckResult:
    """Today's count of `band` against the mean rate of the previous scored days.

    An error when it collapsed (below a quarter of the baseline) or spiked (above 4x) *and* the
    count is implausible as Poisson noise around the expected count; a warning on a smaller
    jump (±50%, at least ±0.2 points). A drop to 0 fails as soon as 0 is implausible.
    """
    name = f"band_rate.{band}"
    rate = count / total if total else 0.0
    if not baseline_rates:
        return CheckResult(name, True, f"{band} {rate:.2%} ({count}); no previous scored day to compare with", ERROR)
    base = float(np.mean(baseline_rates))
    expected = base * total
    shown = f"{band} {count} of {total} ({rate:.2%}) vs {base:.2%} over {len(baseline_rates)} previous days"
    low, high = poisson_cdf(count, expected), poisson_sf(count, expected)
    if count < (1 - thresholds.band_max_drop) * expected and low < thresholds.poisson_alpha:
        return CheckResult(name, False, f"collapsed: {shown} (P = {low:.1e})", ERROR, rate)
    if count > (1 + thresholds.band_max_rise) * expected and high < thresholds.poisson_alpha:
        return CheckResult(name, False, f"spiked: {shown} (P = {high:.1e})", ERROR, rate)
    bound = max(thresholds.band_warn_relative * base, thresholds.band_warn_absolute)
    if abs(rate - base) > bound:
        return CheckResult(name, False, f"jumped: {shown} (warning bound ±{bound:.2%})", WARN, rate)
    return CheckResult(name, True, shown, ERROR, rate)


# --- raw data of the day --------------------------------------------------------------------


def volume_check(
    table: str, rows_on_day: int, history: Sequence[int], thresholds: PublicationThresholds
) -> CheckResult:
    """Rows loaded on D against the median of rows loaded per day over the days before D.

    `history` holds one count per day of the window since the table's first load (zeros for
    days without rows). A collapse fails only when it is also implausible as Poisson noise.
    """
    name = f"volume.{table}"
    if len(history) < thresholds.min_history_days:
        return CheckResult(name, True, f"{rows_on_day} rows; only {len(history)} days of history: not judged")
    median = float(np.median(history))
    ratio = rows_on_day / median if median else math.inf
    shown = f"{rows_on_day} rows loaded vs a median of {median:g} a day over {len(history)} days"
    minimum = thresholds.min_ratio(table)
    p_low = poisson_cdf(rows_on_day, median)
    if ratio < minimum and p_low < thresholds.poisson_alpha:
        return CheckResult(name, False, f"collapsed: {shown} ({ratio:.2f} < {minimum}; P = {p_low:.1e})", ERROR, ratio)
    return CheckResult(name, True, f"{shown} ({ratio:.2f})", ERROR, ratio if median else None)


def freshness_check(
    table: str, day: date, last_loaded_at: datetime | None, median_rows: float | None, thresholds: PublicationThresholds
) -> CheckResult:
    """Loaded through the end of D: the newest row loaded up to the end of D is recent enough.

    Relative to D, not to the wall clock, so backfills are judged like the daily run. Tables
    sparser than `freshness_min_rows_per_day` (median rows loaded per day) are not judged: their
    quiet hours are normal. `median_rows` None: too little history to know.
    """
    name = f"freshness.{table}"
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    gap = (end - last_loaded_at).total_seconds() / 3600 if last_loaded_at is not None else None
    if gap is None:
        shown = f"no row loaded by the end of {day}"
    else:
        shown = f"last row loaded {gap:.1f} h before the end of {day}"
    if median_rows is None:
        return CheckResult(name, True, f"{shown}; too little history: not judged", ERROR, gap)
    shown += f" (median {median_rows:g} rows a day)"
    if median_rows < thresholds.freshness_min_rows_per_day:
        return CheckResult(name, True, f"{shown}; sparse table: not judged", ERROR, gap)
    if gap is None or gap > thresholds.freshness_max_gap_hours:
        return CheckResult(name, False, f"stale: {shown} > {thresholds.freshness_max_gap_hours:g} h", ERROR, gap)
    return CheckResult(name, True, shown, ERROR, gap)


def quarantine_check(table: str, valid_rows: float, quarantined_rows: float, thresholds: PublicationThresholds):
    """Share of D's rows (loaded on D, valid or not) that were quarantined."""
    name = f"quarantine.{table}"
    total = valid_rows + quarantined_rows
    share = quarantined_rows / total if total else 0.0
    shown = f"{quarantined_rows:g} of {total:g} rows loaded on the day quarantined ({share:.2%})"
    too_many = share > thresholds.max_quarantine_share and quarantined_rows >= thresholds.min_quarantined_rows
    if too_many:
        return CheckResult(name, False, f"{shown} > {thresholds.max_quarantine_share:.0%}", ERROR, share)
    return CheckResult(name, True, shown, ERROR, share)


def rejected_files_check(rejected: Sequence[tuple[str, str]]) -> CheckResult:
    """Rejected landing files that may hold rows of the day: (path, reason) pairs."""
    if not rejected:
        return CheckResult("rejected_files", True, "no rejected landing file may hold rows of the day", ERROR, 0)
    listed = "; ".join(f"{path}: {reason}" for path, reason in rejected[:5])
    more = f" (+{len(rejected) - 5} more)" if len(rejected) > 5 else ""
    return CheckResult(
        "rejected_files",
        False,
        f"{len(rejected)} rejected landing file(s) may hold rows of the day: {listed}{more}",
        ERROR,
        len(rejected),
    )
