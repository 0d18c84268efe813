"""Drift of the scored days as asset checks on `risk/account_risk_scores`, with plots.

Thin adapter over `ml.monitor.drift`: the scoring asset measures each day it scores
(`measure`), records the results with the publication gate's checks, and yields these checks.
`features_arriving` is one of the gate's blocking checks (shown with the others); the two here
never block: drift is a signal to look, not a data fault.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd

from ml import settings
from ml.monitor.drift import DayDrift, measure_day, psi_level
from ml.monitor.fallback import trailing_reference
from ml.monitor.reference import TrainingReference
from ml.monitor.thresholds import MonitorThresholds
from ml.warehouse import Warehouse

FEATURE_DRIFT = "feature_drift"
SCORE_DRIFT = "score_drift"
DRIFT_CHECKS = {
    FEATURE_DRIFT: "PSI of every model feature vs the champion's training reference (warn >= 0.1, error >= 0.25),"
    " with each feature's null and zero shares. Never blocks publication.",
    SCORE_DRIFT: "PSI of the score vs the validation block's scores, and review/block rates vs the reference's."
    " Never blocks publication.",
}
SHOWN_DAYS = 31


def drift_dir(day: date) -> Path:
    """Where a day's drift plots are written."""
    return settings.data_dir() / "monitoring" / "drift" / str(day)


class DriftMonitor:
    """Measures each scored day of one run against the champion's reference (or, for a
    champion without one, the feature mart's previous days for `features_arriving`)."""

    def __init__(
        self,
        warehouse: Warehouse,
        first_day: date,
        model_features: list[str],
        model_version: str,
        reference: TrainingReference | None,
        thresholds: MonitorThresholds,
    ):
        self.features, self.version = model_features, model_version
        self.reference, self.thresholds = reference, thresholds
        self.fallback = None if reference else trailing_reference(warehouse, first_day, model_features, thresholds)
        self.days: list[DayDrift] = []

    def measure(self, day: date, features: pd.DataFrame, scores: pd.DataFrame) -> DayDrift:
        drift = measure_day(
            day, features, scores, self.features, self.version, self.reference, self.thresholds, self.fallback
        )
        self.days.append(drift)
        return drift


def _image(path: Path) -> dg.MetadataValue:
    encoded = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{encoded})")


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _feature_table(drift: DayDrift) -> str:
    lines = [
        "| feature | PSI | null share (reference) | zero share (reference) | stopped arriving |",
        "|---|---|---|---|---|",
    ]
    for f in sorted(drift.features, key=lambda f: -(f.psi if not math.isnan(f.psi) else -1)):
        psi = "n/a" if math.isnan(f.psi) else f"{f.psi:.3f}"
        null = f"{_pct(f.null_share)} ({_pct(f.reference_null_share)})"
        zero = f"{_pct(f.zero_share)} ({_pct(f.reference_zero_share)})"
        lines.append(f"| {f.feature} | {psi} | {null} | {zero} | {'yes' if f.dead else ''} |")
    return "\n".join(lines)


def _days_table(drifts: Sequence[DayDrift], thresholds: MonitorThresholds) -> str:
    lines = [
        "| day | largest feature PSI | features >= warn | score PSI | review | block |",
        "|---|---|---|---|---|---|",
    ]
    for d in drifts[-SHOWN_DAYS:]:
        worst = d.worst(1)
        largest = f"{worst[0].feature} {worst[0].psi:.3f}" if worst and d.has_reference else "n/a"
        warned = (
            sum(1 for f in d.features if not math.isnan(f.psi) and f.psi >= thresholds.psi_warn)
            if d.has_reference
            else "n/a"
        )
        score = "n/a" if d.score_psi is None else f"{d.score_psi:.3f}"
        bands = [_pct(d.band_rates.get(b, 0)) for b in ("review", "block")]
        lines.append(f"| {d.day} | {largest} | {warned} | {score} | {bands[0]} | {bands[1]} |")
    return "\n".join(lines)


def drift_check_results(
    asset_key: dg.AssetKey, monitor: DriftMonitor, warnings: dict[str, list[tuple[date, str]]]
) -> Iterator[dg.AssetCheckResult]:
    """`feature_drift` and `score_drift` over the run's days, with plots of its last day.
    `warnings` holds the recorded results that did not pass, by check (`drift.features`, ...)."""
    from ml.monitor import plots  # on use: Dagster's definitions load without it (matplotlib)

    drifts, thresholds = monitor.days, monitor.thresholds
    last = drifts[-1]
    folder = drift_dir(last.day)
    common = {
        "days_checked": len(drifts),
        "reference": monitor.reference.source if monitor.reference else f"none saved with v{monitor.version}",
        "by_day": dg.MetadataValue.md(_days_table(drifts, thresholds)),
        "monitor_thresholds": dg.MetadataValue.json(thresholds.as_dict()),
    }
    trend = {}
    if len(drifts) > 1:
        path = plots.psi_by_day(drifts, thresholds, folder / "psi_by_day.png")
        trend = {"psi_by_day": _image(path)}

    feature_meta = dict(common)
    worst_level = "ok"
    if last.has_reference:
        psi_plot = plots.feature_psi(last, thresholds, folder / "feature_psi.png")
        feature_meta |= {
            f"feature_psi_{last.day}": _image(psi_plot),
            "plot_path": dg.MetadataValue.path(str(psi_plot)),
            f"features_{last.day}": dg.MetadataValue.md(_feature_table(last)),
            **trend,
        }
        levels = {psi_level(d.max_feature_psi, thresholds) for d in drifts}
        worst_level = "error" if "error" in levels else "warn" if "warn" in levels else "ok"
    found = warnings.get("drift.features", [])
    feature_meta["problems"] = dg.MetadataValue.md("\n".join(f"- {day}: {text}" for day, text in found[:50]) or "none")
    yield dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=FEATURE_DRIFT,
        passed=not found,
        severity=dg.AssetCheckSeverity.ERROR if worst_level == "error" else dg.AssetCheckSeverity.WARN,
        metadata=feature_meta,
    )

    score_meta = dict(common)
    score_level = "ok"
    if monitor.reference is not None and monitor.reference.score is not None and last.score_psi is not None:
        score_plot = plots.score_distribution(last, monitor.reference.score, folder / "score_distribution.png")
        score_meta |= {
            f"score_distribution_{last.day}": _image(score_plot),
            "plot_path": dg.MetadataValue.path(str(score_plot)),
            "reference_band_rates": dg.MetadataValue.json(monitor.reference.band_rates),
            **trend,
        }
        levels = {psi_level(d.score_psi, thresholds) for d in drifts}
        score_level = "error" if "error" in levels else "ok"
    found = warnings.get("drift.score", [])
    score_meta["problems"] = dg.MetadataValue.md("\n".join(f"- {day}: {text}" for day, text in found[:50]) or "none")
    yield dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=SCORE_DRIFT,
        passed=not found,
        severity=dg.AssetCheckSeverity.ERROR if score_level == "error" else dg.AssetCheckSeverity.WARN,
        metadata=score_meta,
    )
