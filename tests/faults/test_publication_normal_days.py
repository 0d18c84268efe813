"""The gate's data checks refuse no normal day: every as-of day of the small simulation (dirty
rows, duplicates and late rows included) passes, so a refusal means something is wrong."""

from datetime import date

from ml.contract import TABLES
from ml.score.completeness import data_checks_for_days
from ml.score.thresholds import PublicationThresholds
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.conftest import SMALL


def test_no_day_of_the_small_simulation_is_refused_by_the_data_checks(ingested_duckdb):
    first, last = SMALL["start_date"], SMALL["end_date"]

    results = data_checks_for_days(
        DuckDBWarehouse(ingested_duckdb, read_only=True), first, last, PublicationThresholds()
    )

    assert len(results) == (last - first).days + 1 == 90
    refused = [(day, r.check, r.detail) for day, checks in results.items() for r in checks if r.blocks]
    assert refused == []
    # ...and the checks did judge: the dense tables from the second week on, every table's quarantine share.
    judged = [r for day, checks in results.items() if day >= date(2026, 1, 8) for r in checks]
    assert all("not judged" not in r.detail for r in judged if r.check in ("volume.orders", "freshness.orders"))
    assert {r.check for r in judged if r.check.startswith("quarantine.")} == {f"quarantine.{t}" for t in TABLES}
