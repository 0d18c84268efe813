"""The publication gate's thresholds, in one typed config (logged with every check result).

Calibrated on the simulator (`tests/ml/test_publication_calibration.py` runs every day of the
small test simulation through the data checks; the README lists the observed range of each
statistic on the small simulation and the demo). Data is judged relative to the as-of day D
(rows *loaded* on D by `_loaded_at`, against the 28 days before D), never the wall clock, so a
backfill of last spring is judged like the daily run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Rows loaded on D below this share of the trailing daily median is a collapse, per table.
# Orders and logins arrive steadily (0.79 .. 1.71 of the median on normal days of the small
# simulation, 0.89 .. 1.32 on the demo); bids come in bursts during shows (down to 0.20 on a
# normal small-simulation day); the rest sit in between or are sparse enough that the Poisson
# test below decides. A missing, late or fully quarantined file for a dense table gives ~0.
_MIN_VOLUME_RATIO = (("orders", 0.5), ("logins", 0.5), ("bids", 0.1))


@dataclass(frozen=True)
class PublicationThresholds:
    # Volume: rows loaded on D vs the median of rows loaded per day over the previous window.
    volume_window_days: int = 28
    min_history_days: int = 7  # fewer days of history than this (a new table): not judged yet
    min_volume_ratio: float = 0.2
    min_volume_ratio_by_table: tuple[tuple[str, float], ...] = _MIN_VOLUME_RATIO
    # A drop (or spike) fails only when it is also implausible as Poisson noise around the
    # expected count at this level: sparse tables (a median of 1-3 rows a day) cannot fail on a
    # quiet day, because a quiet day is normal for them.
    poisson_alpha: float = 1e-3
    # Freshness: the last row loaded on or before the end of D is at most this old at the end of
    # D. Judged only for tables with at least `freshness_min_rows_per_day` (median): sparser ones
    # go hours without a row on normal days (demo accounts: 10.6 h at ~40 rows a day).
    freshness_max_gap_hours: float = 8.0
    freshness_min_rows_per_day: float = 100.0
    # Quarantine: share of the rows loaded on D (valid + quarantined) that were quarantined.
    max_quarantine_share: float = 0.05
    min_quarantined_rows: int = 5  # one bad row of ten on a sparse table is not a bad day
    # Review/block rates vs the median rate of up to `band_baseline_days` previous scored days.
    band_baseline_days: int = 7
    band_max_drop: float = 0.75  # error below a quarter of the baseline (and Poisson-implausible)
    band_max_rise: float = 3.0  # error above 4x the baseline (and Poisson-implausible)
    band_warn_relative: float = 0.5  # warning beyond ±50% ...
    band_warn_absolute: float = 0.002  # ... and at least ±0.2 percentage points

    def min_ratio(self, table: str) -> float:
        return float(dict(self.min_volume_ratio_by_table).get(table, self.min_volume_ratio))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"min_volume_ratio_by_table": dict(self.min_volume_ratio_by_table)}
