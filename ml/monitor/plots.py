"""Monitoring plots as PNG files (matplotlib's object API, as `ml.evaluate.plots`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ml.monitor.drift import DayDrift
from ml.monitor.reference import Histogram
from ml.monitor.thresholds import MonitorThresholds

TOP_FEATURES = 20
COLOURS = {"ok": "#4c72b0", "warn": "#dd8452", "error": "#c44e52"}


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def _level(value: float, thresholds: MonitorThresholds) -> str:
    return "error" if value >= thresholds.psi_error else "warn" if value >= thresholds.psi_warn else "ok"


def feature_psi(drift: DayDrift, thresholds: MonitorThresholds, path: Path, top: int = TOP_FEATURES) -> Path:
    """PSI of the most drifted features (dead ones marked), with the warning and error levels."""
    shown = [f for f in drift.worst(top) if not math.isnan(f.psi)][::-1]
    figure = Figure(figsize=(7.5, 0.28 * max(len(shown), 4) + 1.4))
    axes = figure.subplots()
    values = [f.psi for f in shown]
    axes.barh(
        [f"{f.feature}{' (dead)' if f.dead else ''}" for f in shown],
        values,
        color=[COLOURS["error"] if f.dead else COLOURS[_level(f.psi, thresholds)] for f in shown],
    )
    axes.axvline(thresholds.psi_warn, color=COLOURS["warn"], linestyle="--", label=f"warn {thresholds.psi_warn:g}")
    axes.axvline(thresholds.psi_error, color=COLOURS["error"], linestyle="--", label=f"error {thresholds.psi_error:g}")
    axes.set_xscale("symlog", linthresh=0.1)
    axes.set(
        xlabel="PSI vs training reference",
        title=f"Feature drift {drift.day} (top {len(shown)}, v{drift.model_version})",
    )
    axes.legend(loc="lower right")
    return _save(figure, path)


def score_distribution(drift: DayDrift, reference: Histogram, path: Path) -> Path:
    """The day's scores against the reference (validation block), per reference score bin, and
    the band rates of both."""
    labels = reference.labels()[:-1]  # scores are never null (a gate check)
    x = np.arange(len(labels))
    figure = Figure(figsize=(9, 4.2))
    bins_axes, bands_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    bins_axes.bar(x - 0.2, reference.shares[:-1], width=0.4, label="reference", color="#999999")
    bins_axes.bar(x + 0.2, drift.score_shares[:-1], width=0.4, label=str(drift.day), color=COLOURS["ok"])
    bins_axes.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    bins_axes.set(ylabel="share of accounts", title=f"Score distribution (PSI {drift.score_psi:.3f})")
    bins_axes.legend()
    bands = ["review", "block"]
    position = np.arange(len(bands))
    bands_axes.bar(position - 0.2, [drift.reference_band_rates.get(b, 0) for b in bands], 0.4, color="#999999")
    bands_axes.bar(position + 0.2, [drift.band_rates.get(b, 0) for b in bands], 0.4, color=COLOURS["ok"])
    bands_axes.set_xticks(position, bands)
    bands_axes.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    bands_axes.set(title="Band rates")
    return _save(figure, path)


def psi_by_day(drifts: Sequence[DayDrift], thresholds: MonitorThresholds, path: Path) -> Path:
    """Score PSI and the largest feature PSI per day of a run (several days: a backfill)."""
    days = [d.day for d in drifts]
    figure = Figure(figsize=(8, 3.6))
    axes = figure.subplots()
    axes.plot(days, [d.score_psi if d.score_psi is not None else np.nan for d in drifts], marker="o", label="score")
    axes.plot(
        days,
        [d.max_feature_psi if d.max_feature_psi is not None else np.nan for d in drifts],
        marker="s",
        label="largest feature PSI",
    )
    axes.axhline(thresholds.psi_warn, color=COLOURS["warn"], linestyle="--")
    axes.axhline(thresholds.psi_error, color=COLOURS["error"], linestyle="--")
    axes.set(ylabel="PSI", title="Drift by as-of day")
    axes.legend()
    figure.autofmt_xdate()
    return _save(figure, path)
