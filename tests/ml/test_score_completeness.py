"""The gate's raw-data checks read the same on the embedded DuckDB file and on the Snowflake
emulator: rows loaded per day, the newest load, quarantined rows of the day, rejected files."""

import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from ml.ingest.schema import ensure_ingest_tables
from ml.score.completeness import data_checks
from ml.score.thresholds import PublicationThresholds
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.snowflake_emulator import snowflake_warehouse

DAY = date(2026, 3, 20)
INGESTED = datetime(2026, 3, 21, 2, 0)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "w.duckdb")
    connection = request.getfixturevalue("fakesnow_connection")
    return snowflake_warehouse(connection, f"VIGIL_COMPLETE_{tmp_path.name[-8:].upper()}")


def _orders(loaded: list[datetime]) -> pa.Table:
    return pa.table(
        {
            "order_id": [f"o{i}" for i in range(len(loaded))],
            "_loaded_at": pa.array(loaded, pa.timestamp("us")),
            "_source_file": ["orders/a.parquet"] * len(loaded),
        }
    )


def _loads(days: int, per_day: int, last: date) -> list[datetime]:
    """`per_day` orders loaded on each of `days` days up to `last`, spread over the day."""
    start = datetime.combine(last - timedelta(days=days - 1), datetime.min.time())
    return [start + timedelta(days=d, minutes=i * 1440 // per_day + 7) for d in range(days) for i in range(per_day)]


def _ledger(path: str, status: str, when: datetime, reason: str | None = None) -> pa.Table:
    return pa.table(
        {
            "file_path": [path],
            "table_name": [path.split("/")[0]],
            "status": [status],
            "reason": pa.array([reason], pa.string()),
            "ingested_at": pa.array([when], pa.timestamp("us")),
        }
    )


def test_a_day_whose_orders_never_arrived_fails_and_its_quarantine_and_rejections_count(warehouse):
    with warehouse.session() as session:
        ensure_ingest_tables(session, "raw", "ingest")
        # 150 orders a day up to D-1 only: D's orders never arrived.
        session.append_arrow("raw", "orders", _orders(_loads(20, 150, DAY - timedelta(days=1))))
        quarantined = [
            {"ORDER_ID": f"q{i}", "_LOADED_AT": f"{DAY} 10:{i:02d}:00"}
            for i in range(8)  # upper-case header
        ] + [{"order_id": "x", "_loaded_at": "2026-03-01 10:00:00"}]  # another day's
        session.append_arrow(
            "ingest",
            "quarantine",
            pa.table(
                {
                    "table_name": ["orders"] * len(quarantined),
                    "source_file": ["orders/upper.csv"] * 8 + ["orders/old.csv"],
                    "record_json": [json.dumps(r) for r in quarantined],
                    "quarantined_at": pa.array([INGESTED] * len(quarantined), pa.timestamp("us")),
                }
            ),
        )
        session.append_arrow("ingest", "file_ledger", _ledger("orders/upper.csv", "loaded", INGESTED))
        session.append_arrow(
            "ingest", "file_ledger", _ledger("bids/broken.parquet", "rejected", INGESTED, "unreadable")
        )
        session.append_arrow(
            "ingest", "file_ledger", _ledger("bids/older.parquet", "rejected", INGESTED - timedelta(days=5), "old")
        )

    results = {r.check: r for r in data_checks(warehouse, DAY, PublicationThresholds())}

    assert results["volume.orders"].blocks and results["volume.orders"].detail.startswith("collapsed: 0 rows loaded")
    assert results["freshness.orders"].blocks and results["freshness.orders"].statistic > 24
    assert results["quarantine.orders"].blocks and results["quarantine.orders"].statistic == 1.0  # 8 of 8
    assert results["rejected_files"].blocks and "bids/broken.parquet: unreadable" in results["rejected_files"].detail
    assert "older" not in results["rejected_files"].detail  # rejected before D: cannot hold D's rows
    assert not results["volume.bids"].blocks  # no history at all: not judged
    # The day before was complete.
    before = {r.check: r for r in data_checks(warehouse, DAY - timedelta(days=1), PublicationThresholds())}
    assert before["volume.orders"].passed and before["freshness.orders"].passed
