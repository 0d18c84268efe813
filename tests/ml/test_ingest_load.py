import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.ingest import load
from ml.ingest.load import ingest_landing
from ml.ingest.options import IngestOptions
from ml.ingest.schema import ensure_ingest_tables
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


def _ledger(wh: DuckDBWarehouse) -> list[dict]:
    with wh.session() as s:
        return s.fetch_arrow(
            "select file_path, status, reason, file_sha256 from ingest.file_ledger order by file_path, status"
        ).to_pylist()


def test_a_touched_file_with_the_same_content_is_not_loaded_again(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    ingest_landing(wh, landing, run_id="r1", now=NOW)
    os.utime(landing / "refunds" / "2026w01.csv", (1_000_000_000, 1_000_000_000))

    report = ingest_landing(wh, landing, run_id="r2", now=NOW)

    assert (report.outcomes, report.files_already_ingested) == ([], 2)
    assert _count(wh, "select count(*) from ingest.file_ledger") == 2
    assert _count(wh, "select count(*) from raw.refunds") == 2


def test_a_file_changed_after_loading_is_recorded_once_and_its_loaded_rows_stay(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    ingest_landing(wh, landing, run_id="r1", now=NOW)
    _write_csv(landing, "2026w02.csv", "r9,o9,2026-01-09 10:00:00,1.00,other,2026-01-09 10:00:30")
    os.utime(landing / "refunds" / "2026w02.csv", (2_000_000_000, 2_000_000_000))

    ingest_landing(wh, landing, run_id="r2", now=NOW)
    again = ingest_landing(wh, landing, run_id="r3", now=NOW)

    assert again.outcomes == []
    assert [(r["file_path"], r["status"]) for r in _ledger(wh)] == [
        ("refunds/2026w01.csv", "loaded"),
        ("refunds/2026w02.csv", "loaded"),
        ("refunds/2026w02.csv", "rejected"),
    ]
    assert _count(wh, "select string_agg(refund_id, ',' order by refund_id) from raw.refunds") == "r1,r3"


def test_an_oversized_file_is_rejected_once_and_read_when_the_cap_allows_it(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    small = IngestOptions(settle_seconds=0, max_file_bytes=100)

    first = ingest_landing(wh, landing, run_id="r1", now=NOW, options=small)
    second = ingest_landing(wh, landing, run_id="r2", now=NOW, options=small)
    third = ingest_landing(wh, landing, run_id="r3", now=NOW, options=IngestOptions(settle_seconds=0))

    assert [o.status for o in first.outcomes] == ["rejected", "rejected"]
    assert "over the 100-byte cap" in first.outcomes[0].reason
    assert (second.outcomes, second.files_already_ingested) == ([], 2)
    assert [o.status for o in third.outcomes] == ["loaded", "loaded"]
    assert _count(wh, "select count(*) from raw.refunds") == 2


def test_a_file_whose_rows_do_not_add_up_is_rejected_and_nothing_of_it_is_loaded(tmp_path, monkeypatch):
    validate = load.validate_file

    def drops_a_row(*args, **kwargs):
        batch = validate(*args, **kwargs)
        return replace(batch, valid=batch.valid.slice(1))

    monkeypatch.setattr(load, "validate_file", drops_a_row)
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    report = ingest_landing(wh, _landing(tmp_path), run_id="r1", now=NOW)

    assert {o.relative_path: o.reason for o in report.rejected} == {
        "refunds/2026w01.csv": "row accounting failed: 0 valid + 1 quarantined != 2 rows in file",
        "refunds/2026w02.csv": "row accounting failed: 0 valid + 0 quarantined != 1 rows in file",
    }
    assert _count(wh, "select count(*) from raw.refunds") == 0
    assert _count(wh, "select count(*) from ingest.quarantine") == 0


def test_rows_already_in_raw_under_a_files_name_make_its_load_roll_back_and_be_rejected(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    with wh.session() as s:
        ensure_ingest_tables(s, "raw", "ingest")
        s.execute(
            "insert into raw.refunds (refund_id, _source_file, _source_row) values ('stray', 'refunds/2026w02.csv', 1)"
        )

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert [(o.relative_path, o.reason) for o in report.rejected] == [
        (
            "refunds/2026w02.csv",
            "row accounting failed in the warehouse: 2 raw + 0 quarantined rows for this file, expected 1 + 0",
        )
    ]
    assert _count(wh, "select string_agg(refund_id, ',' order by refund_id) from raw.refunds") == "r1,stray"


OLD_LEDGER = """
create table ingest.file_ledger (
    file_path varchar, table_name varchar, file_bytes bigint, status varchar, rows_in_file bigint,
    rows_loaded bigint, rows_quarantined bigint, reason varchar, ingested_at timestamp, run_id varchar
)
"""


def test_a_ledger_from_before_content_hashes_gains_the_columns_and_its_loaded_files_stay_loaded(tmp_path):
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    landing = _landing(tmp_path)
    size = (landing / "refunds" / "2026w01.csv").stat().st_size
    with wh.session() as s:
        s.execute("create schema ingest")
        s.execute(OLD_LEDGER)
        s.execute(
            "insert into ingest.file_ledger values ('refunds/2026w01.csv', 'refunds', ?, 'loaded', 2, 1, 1, null,"
            " '2026-01-03', 'old')",
            [size],
        )

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert [o.relative_path for o in report.outcomes] == ["refunds/2026w02.csv"]
    assert report.files_already_ingested == 1
    assert [r["file_sha256"] is not None for r in _ledger(wh)] == [False, True]
