"""Drift of one scored day against the champion's training reference: PSI per model feature and
of the score, null and zero shares, band rates, and features that stopped arriving.

Pure functions over the frames scoring already holds (the day's feature rows and its scores).
The results become `CheckResult`s the scoring run records with the publication gate's checks:
`features_arriving` (error: a dead feature refuses the day), `drift.features` and
`drift.score` (warn: recorded and shown, never blocking; see `ml.monitor.thresholds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from ml.monitor.reference import BANDS, FeatureReference, TrainingReference, numeric_values
from ml.monitor.thresholds import MonitorThresholds
from ml.score.checks import ERROR, WARN, CheckResult, poisson_cdf, poisson_sf

ARRIVING_CHECK = "features_arriving"
FEATURE_DRIFT_CHECK = "drift.features"
SCORE_DRIFT_CHECK = "drift.score"
SHOWN = 8  # features named in a check's detail


def psi(expected: np.ndarray, actual: np.ndarray, floor: float) -> float:
    """Population stability index: sum over bins of (actual - expected) * ln(actual / expected),
    shares floored at `floor` so that a bin empty on one side stays finite."""
    e = np.maximum(np.asarray(expected, float), floor)
    a = np.maximum(np.asarray(actual, float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def stopped_arriving(values, reference: FeatureReference, alpha: float) -> str | None:
    """Why the day's values of a feature look dead, or None.

    Dead: every value is null, or zero, or one and the same value (a broken join's default),
    and the chance of that under the reference is below `alpha`: every one of n accounts
    drawing such a value has probability share^n. A feature that is zero for nearly everyone in
    training (a rare chargeback count) therefore cannot fail on a small or quiet day.
    """
    x = numeric_values(values)
    n = len(x)
    if n == 0:
        return None
    null = np.isnan(x)
    distinct = np.unique(x[~null])
    if len(distinct) > 1:
        return None
    if len(distinct) == 0:
        share, what = reference.null_share, "null"
    else:
        value = float(distinct[0])
        share = reference.share_of_constant(value) + (reference.null_share if null.any() else 0.0)
        what = f"{value:g}" + (" or null" if null.any() else "")
    share = min(share, 1.0)
    log_chance = n * math.log(share) if share > 0 else -math.inf
    if log_chance >= math.log(alpha):
        return None
    chance = "0" if log_chance == -math.inf else f"1e{log_chance / math.log(10):.0f}"
    return f"{reference.name}: all {n} values {what} (training reference: {share:.1%} such values; chance ~{chance})"


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    null_share: float
    zero_share: float
    reference_null_share: float
    reference_zero_share: float
    dead: str | None = None  # why the feature looks dead on the day


@dataclass(frozen=True)
class DayDrift:
    """One scored day against a reference (`reference_source` None: the champion has none)."""

    day: date
    rows: int
    model_version: str
    reference_source: str | None
    features: tuple[FeatureDrift, ...] = ()
    score_psi: float | None = None
    score_shares: tuple[float, ...] = ()  # the day's scores in the reference's score bins
    band_rates: dict[str, float] = field(default_factory=dict)
    reference_band_rates: dict[str, float] = field(default_factory=dict)
    arrival_reference: str | None = None  # what features_arriving judged against (may be a fallback)

    @property
    def has_reference(self) -> bool:
        return self.reference_source is not None

    def worst(self, n: int = SHOWN) -> list[FeatureDrift]:
        return sorted(self.features, key=lambda f: -f.psi)[:n]

    @property
    def dead(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.dead]

    @property
    def max_feature_psi(self) -> float | None:
        return max((f.psi for f in self.features), default=None) if self.has_reference else None


def _band_rates(bands: pd.Series) -> dict[str, float]:
    counts = bands.value_counts()
    total = max(len(bands), 1)
    return {band: float(counts.get(band, 0)) / total for band in BANDS}


def _feature_drift(
    values, reference: FeatureReference, thresholds: MonitorThresholds, measure_psi: bool
) -> FeatureDrift:
    x = numeric_values(values)
    n = max(len(x), 1)
    value = (
        psi(np.asarray(reference.histogram.shares), reference.histogram.shares_of(x), thresholds.psi_floor)
        if measure_psi
        else math.nan
    )
    return FeatureDrift(
        feature=reference.name,
        psi=value,
        null_share=float(np.isnan(x).sum()) / n,
        zero_share=float((x == 0).sum()) / n,
        reference_null_share=reference.null_share,
        reference_zero_share=reference.zero_share,
        dead=stopped_arriving(x, reference, thresholds.dead_feature_alpha),
    )


def measure_day(
    day: date,
    features: pd.DataFrame,
    scores: pd.DataFrame,
    model_features: list[str],
    model_version: str,
    reference: TrainingReference | None,
    thresholds: MonitorThresholds,
    fallback: TrainingReference | None = None,
) -> DayDrift:
    """The day's drift against the champion's training `reference`. Without one (a version
    logged before references existed) PSI is not measured, and `features_arriving` judges
    against `fallback` (the feature mart's previous days) so the guard never lapses."""
    arrival = reference or fallback
    drifts = []
    for name in model_features:
        judged = arrival.features.get(name) if arrival else None
        if judged is None:
            # Not in the reference (a reference without this feature): nothing to judge against.
            values = numeric_values(features[name])
            n = max(len(values), 1)
            drifts.append(
                FeatureDrift(name, math.nan, float(np.isnan(values).sum()) / n, float((values == 0).sum()) / n, 0, 0)
            )
            continue
        drifts.append(_feature_drift(features[name], judged, thresholds, measure_psi=reference is not None))
    drift = DayDrift(
        day=day,
        rows=len(features),
        model_version=model_version,
        reference_source=reference.source if reference else None,
        features=tuple(drifts),
        band_rates=_band_rates(scores["band"]),
        arrival_reference=arrival.source if arrival else None,
    )
    if reference is None or reference.score is None:
        return drift
    shares = reference.score.shares_of(scores["score"])
    return replace(
        drift,
        score_psi=psi(np.asarray(reference.score.shares), shares, thresholds.psi_floor),
        score_shares=tuple(map(float, shares)),
        reference_band_rates=dict(reference.band_rates),
    )


def psi_level(value: float | None, thresholds: MonitorThresholds) -> str:
    """`ok`, `warn` (moderate shift) or `error` (major shift) for a PSI value."""
    if value is None or math.isnan(value):
        return "ok"
    return "error" if value >= thresholds.psi_error else "warn" if value >= thresholds.psi_warn else "ok"


def arrival_check(drift: DayDrift) -> CheckResult:
    """Error: a model feature stopped arriving (all null, zero or one value where the reference
    varied). Blocks publication of the day."""
    dead = drift.dead
    if drift.arrival_reference is None:
        detail = "no reference to judge against (no training reference, no earlier feature day)"
        return CheckResult(ARRIVING_CHECK, True, detail)
    if dead:
        more = f" (+{len(dead) - SHOWN} more)" if len(dead) > SHOWN else ""
        listed = "; ".join(f.dead for f in dead[:SHOWN]) + more
        detail = f"{len(dead)} model feature(s) stopped arriving: {listed}"
        return CheckResult(ARRIVING_CHECK, False, detail, ERROR, len(dead))
    return CheckResult(
        ARRIVING_CHECK,
        True,
        f"all {len(drift.features)} model features vary as in the reference ({drift.arrival_reference})",
        ERROR,
        0,
    )


def feature_drift_check(drift: DayDrift, thresholds: MonitorThresholds) -> CheckResult:
    """Warn: some feature's PSI reached the warning level (or the champion has no reference)."""
    if not drift.has_reference:
        return CheckResult(
            FEATURE_DRIFT_CHECK,
            False,
            f"v{drift.model_version} carries no training reference: feature drift not measured (retrain to save one)",
            WARN,
        )
    worst = max(drift.features, key=lambda f: -math.inf if math.isnan(f.psi) else f.psi, default=None)
    drifted = [f for f in drift.worst(len(drift.features)) if psi_level(f.psi, thresholds) != "ok"]
    shown = ", ".join(f"{f.feature} {f.psi:.3f}" for f in drifted[:SHOWN])
    if drifted:
        more = f" (+{len(drifted) - SHOWN} more)" if len(drifted) > SHOWN else ""
        detail = f"{len(drifted)} of {len(drift.features)} features with PSI >= {thresholds.psi_warn:g}: {shown}{more}"
        return CheckResult(FEATURE_DRIFT_CHECK, False, detail, WARN, worst.psi)
    top = f"; highest {worst.feature} {worst.psi:.3f}" if worst else ""
    detail = f"every feature's PSI < {thresholds.psi_warn:g}{top}"
    return CheckResult(FEATURE_DRIFT_CHECK, True, detail, WARN, worst.psi if worst else None)


def _band_outside(rate: float, expected_rate: float, rows: int, thresholds: MonitorThresholds) -> bool:
    """Beyond the warning factor either way, and implausible as Poisson noise (as the gate judges)."""
    expected, count = expected_rate * rows, round(rate * rows)
    factor = thresholds.band_rate_warn_factor
    low = count < expected / factor and poisson_cdf(count, expected) < thresholds.dead_feature_alpha
    high = count > expected * factor and poisson_sf(count, expected) < thresholds.dead_feature_alpha
    return low or high


def score_drift_check(drift: DayDrift, thresholds: MonitorThresholds) -> CheckResult:
    """Warn: the score's PSI reached the warning level, or a band's rate moved beyond the factor
    from the validation block's rate under the same policy."""
    if drift.score_psi is None:
        return CheckResult(
            SCORE_DRIFT_CHECK,
            False,
            f"v{drift.model_version} carries no training reference: score drift not measured (retrain to save one)",
            WARN,
        )
    rates = ", ".join(
        f"{band} {drift.band_rates.get(band, 0):.2%} (reference {drift.reference_band_rates.get(band, 0):.2%})"
        for band in ("review", "block")
    )
    moved = [
        band
        for band in ("review", "block")
        if _band_outside(drift.band_rates.get(band, 0), drift.reference_band_rates.get(band, 0), drift.rows, thresholds)
    ]
    detail = f"score PSI {drift.score_psi:.3f}; {rates}"
    problems = []
    if psi_level(drift.score_psi, thresholds) != "ok":
        problems.append(f"score PSI >= {thresholds.psi_warn:g}")
    if moved:
        problems.append(f"{', '.join(moved)} rate beyond {thresholds.band_rate_warn_factor:g}x the reference")
    if problems:
        return CheckResult(SCORE_DRIFT_CHECK, False, f"{'; '.join(problems)}: {detail}", WARN, drift.score_psi)
    return CheckResult(SCORE_DRIFT_CHECK, True, detail, WARN, drift.score_psi)


def drift_checks(drift: DayDrift, thresholds: MonitorThresholds) -> list[CheckResult]:
    """The day's monitoring results, recorded with the publication gate's checks."""
    return [arrival_check(drift), feature_drift_check(drift, thresholds), score_drift_check(drift, thresholds)]
