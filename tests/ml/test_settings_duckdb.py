"""DuckDB memory cap and threads: read from the environment, applied to every Vigil session."""

import pytest

from ml import settings
from ml.warehouse.duckdb_engine import DuckDBWarehouse


def test_duckdb_memory_is_capped_by_default(monkeypatch):
    monkeypatch.delenv("VIGIL_DUCKDB_MEMORY_LIMIT", raising=False)
    assert settings.duckdb_memory_limit() == "4GB"


@pytest.mark.parametrize("value", ["lots", "4GB; drop table raw.orders", "-1GB", ""])
def test_a_memory_limit_that_is_not_a_size_is_refused(monkeypatch, value):
    monkeypatch.setenv("VIGIL_DUCKDB_MEMORY_LIMIT", value)
    with pytest.raises(ValueError, match="VIGIL_DUCKDB_MEMORY_LIMIT"):
        settings.duckdb_memory_limit()


@pytest.mark.parametrize("value", ["0", "-2"])
def test_threads_must_be_positive(monkeypatch, value):
    monkeypatch.setenv("VIGIL_DUCKDB_THREADS", value)
    with pytest.raises(ValueError, match="VIGIL_DUCKDB_THREADS"):
        settings.duckdb_threads()


def test_warehouse_sessions_run_with_the_configured_cap_and_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_DUCKDB_MEMORY_LIMIT", "512MiB")
    monkeypatch.setenv("VIGIL_DUCKDB_THREADS", "1")
    with DuckDBWarehouse(tmp_path / "w.duckdb").session() as session:
        row = session.fetch_arrow(
            "select current_setting('memory_limit') as memory, current_setting('threads') as threads"
        ).to_pylist()[0]
    assert row["memory"] == "512.0 MiB"
    assert int(row["threads"]) == 1


def test_backfills_run_month_sized_by_default(monkeypatch):
    monkeypatch.delenv("VIGIL_BACKFILL_DAYS_PER_RUN", raising=False)
    assert settings.backfill_days_per_run() == 31
    monkeypatch.setenv("VIGIL_BACKFILL_DAYS_PER_RUN", "7")
    assert settings.backfill_days_per_run() == 7


@pytest.mark.parametrize("value", ["0", "-7", "a week", "7.5"])
def test_backfill_days_per_run_must_be_a_positive_integer(monkeypatch, value):
    monkeypatch.setenv("VIGIL_BACKFILL_DAYS_PER_RUN", value)
    with pytest.raises(ValueError, match="VIGIL_BACKFILL_DAYS_PER_RUN"):
        settings.backfill_days_per_run()
