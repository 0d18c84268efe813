from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.ingest.load import ingest_landing
from ml.warehouse.duckdb_engine import DuckDBWarehouse

NOW = datetime(2026, 10, 1)
HEADER = "refund_id,order_id,created_at,amount_usd,reason,_loaded_at"


def _write_csv(landing: Path, name: str, *rows: str) -> Path:
    path = landing / "refunds" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _count(wh: DuckDBWarehouse, sql: str) -> int:
    with wh.session() as s:
        return s.fetch_arrow(sql).column(0)[0].as_py()


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    _write_csv(
        landing,
        "2026w01.csv",
        "r1,o1,2026-01-02 10:00:00,5.00,other,2026-01-02 10:00:30",
        "r2,o2,2026-01-02 11:00:00,-1.00,other,2026-01-02 11:00:30",
    )
    _write_csv(landing, "2026w02.csv", "r3,o3,2026-01-09 10:00:00,9.99,not_received,2026-01-09 10:00:30")
    return landing


def test_reingesting_the_same_landing_folder_loads_nothing_twice(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)

    first = ingest_landing(wh, landing, run_id="r1", now=NOW)
    second = ingest_landing(wh, landing, run_id="r2", now=NOW)

    assert (first.rows_loaded, first.rows_quarantined) == (2, 1)
    assert (second.rows_loaded, second.rows_quarantined, second.files_already_ingested) == (0, 0, 2)
    assert _count(wh, "select count(*) from raw.refunds") == 2
    assert _count(wh, "select count(*) from ingest.quarantine") == 1


def test_a_new_batch_file_is_picked_up_by_the_next_run(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    ingest_landing(wh, landing, run_id="r1", now=NOW)
    _write_csv(landing, "2026w03.csv", "r4,o4,2026-01-16 10:00:00,1.00,other,2026-01-16 10:00:30")

    report = ingest_landing(wh, landing, run_id="r2", now=NOW)

    assert [o.relative_path for o in report.outcomes] == ["refunds/2026w03.csv"]
    assert _count(wh, "select count(*) from raw.refunds") == 3


def test_loaded_plus_quarantined_equals_rows_in_files_in_the_ledger(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    ingest_landing(wh, _landing(tmp_path), run_id="r1", now=NOW)

    assert _count(wh, "select sum(rows_in_file) from ingest.file_ledger") == 3
    assert (
        _count(
            wh,
            "select count(*) from ingest.file_ledger where rows_loaded + rows_quarantined <> rows_in_file",
        )
        == 0
    )


def test_unreadable_unknown_and_unsupported_files_are_rejected_with_a_reason(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    (landing / "refunds" / "broken.parquet").write_bytes(b"nope")
    (landing / "refunds" / "readme.txt").write_text("hello")
    (landing / "not_a_table").mkdir()
    (landing / "not_a_table" / "x.csv").write_text("a\n1\n")

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    reasons = {o.relative_path: o.reason for o in report.rejected}
    assert set(reasons) == {"refunds/broken.parquet", "refunds/readme.txt", "not_a_table/x.csv"}
    assert "cannot read" in reasons["refunds/broken.parquet"]
    assert "not a contract table" in reasons["not_a_table/x.csv"]
    assert _count(wh, "select count(*) from ingest.file_ledger where status = 'rejected'") == 3


def test_a_file_changed_after_ingestion_is_rejected_not_reloaded(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    ingest_landing(wh, landing, run_id="r1", now=NOW)
    _write_csv(
        landing,
        "2026w02.csv",
        "r3,o3,2026-01-09 10:00:00,9.99,not_received,2026-01-09 10:00:30",
        "r5,o5,2026-01-09 10:00:00,9.99,not_received,2026-01-09 10:00:30",
    )

    report = ingest_landing(wh, landing, run_id="r2", now=NOW)

    assert [o.relative_path for o in report.rejected] == ["refunds/2026w02.csv"]
    assert report.rejected[0].reason.startswith("content changed after it was loaded")
    assert _count(wh, "select count(*) from raw.refunds") == 2


def test_an_interrupted_file_is_cleaned_up_and_loaded_again(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    ingest_landing(wh, landing, run_id="r1", now=NOW)
    # Simulate a crash mid-file (possible on Snowflake, where bulk loads commit on their own):
    # the ledger says `started` and only part of the rows made it.
    with wh.session() as s:
        s.execute("update ingest.file_ledger set status = 'started' where file_path = 'refunds/2026w01.csv'")
        s.execute("delete from raw.refunds where refund_id = 'r1'")

    report = ingest_landing(wh, landing, run_id="r2", now=NOW)

    assert report.partial_files_recovered == 1
    assert _count(wh, "select count(*) from raw.refunds") == 2
    assert _count(wh, "select count(*) from ingest.quarantine") == 1
    assert _count(wh, "select count(*) from ingest.file_ledger where file_path = 'refunds/2026w01.csv'") == 1


def test_typed_parquet_batches_load_alongside_csv(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    pq.write_table(
        pa.table(
            {
                "refund_id": ["r9"],
                "order_id": ["o9"],
                "created_at": pa.array([datetime(2026, 1, 20, 9)], pa.timestamp("us")),
                "amount_usd": pa.array([12.34], pa.float64()),
                "reason": ["buyer_remorse"],
                "_loaded_at": pa.array([datetime(2026, 1, 20, 9, 1)], pa.timestamp("us")),
            }
        ),
        landing / "refunds" / "2026w04.parquet",
    )

    ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert _count(wh, "select cast(amount_usd as varchar) from raw.refunds where refund_id = 'r9'") == "12.34"


def test_raw_and_ingest_schemas_come_from_the_same_settings_as_dbt(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_RAW_SCHEMA", "landing_raw")
    monkeypatch.setenv("VIGIL_INGEST_SCHEMA", "landing_ingest")
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    ingest_landing(wh, _landing(tmp_path), run_id="r1", now=NOW)

    assert _count(wh, "select count(*) from landing_raw.refunds") == 2
    assert _count(wh, "select count(*) from landing_ingest.quarantine") == 1
    assert _count(wh, "select count(*) from information_schema.schemata where schema_name in ('raw', 'ingest')") == 0


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_RAW_SCHEMA", "raw; drop table x")
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    with pytest.raises(ValueError, match="VIGIL_RAW_SCHEMA must be a plain SQL identifier"):
        ingest_landing(wh, _landing(tmp_path), run_id="r1", now=NOW)
