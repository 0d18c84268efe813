"""A stand-in reference for a champion logged before training references existed: the feature
mart's rows of the days just before, so `features_arriving` still judges a dead feature."""

from __future__ import annotations

from datetime import date, timedelta

from ml.monitor.reference import TrainingReference, build_reference
from ml.monitor.thresholds import MonitorThresholds
from ml.score.store import features_table
from ml.warehouse import Warehouse


def trailing_reference(
    warehouse: Warehouse, day: date, features: list[str], thresholds: MonitorThresholds
) -> TrainingReference | None:
    """Histograms of the mart's rows of the `fallback_reference_days` days before `day`, or
    None when the mart holds none of them."""
    first = day - timedelta(days=thresholds.fallback_reference_days)
    columns = ", ".join(features)
    with warehouse.session() as session:
        rows = session.fetch_arrow(
            f"select {columns} from {features_table()} where as_of_date >= ? and as_of_date < ?", [first, day]
        ).to_pandas()
    if rows.empty:
        return None
    source = (
        f"feature mart {first}..{day - timedelta(days=1)} ({len(rows):,} rows; the champion has no training reference)"
    )
    return build_reference(rows, features, thresholds.bins, source)
