"""Hostile landing files cannot forge, lose or stall rows (issue 12, findings 5, 6, 8 and 9).

Each case states the exact outcome: shadow columns forge nothing, glob-like names load their
own rows, a partial upload followed by the complete file is loaded exactly once, and an
oversized or poison file is rejected with a reason while the run loads the others.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.ingest import load
from ml.ingest.load import ingest_landing
from ml.ingest.options import IngestOptions
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.faults.processes import run_in_child

NOW = datetime(2026, 10, 1)
CHARGEBACK_COLUMNS = TABLES["chargebacks"].column_names
GOOD = {
    "chargeback_id": "cb1",
    "order_id": "o1",
    "reported_at": "2026-01-01 10:00:00",
    "reason": "fraud",
    "amount_usd": "5.00",
    "_loaded_at": "2026-01-01 10:00:30",
}
# Null id, unknown reason, negative amount, loaded in 2099: four reasons to quarantine it.
FORGED = {
    "chargeback_id": "",
    "order_id": "o2",
    "reported_at": "2026-01-01 10:00:00",
    "reason": "bogus",
    "amount_usd": "-5.00",
    "_loaded_at": "2099-01-01 00:00:00",
}
# Extra input columns named like every internal column validation has used or uses: each
# holds the value that would make the forged row look valid if it shadowed the real one.
SHADOWS = {
    "_reason": "",
    "reasons": "",
    "_source_row": "1",
    "_source_file": "chargebacks/other.csv",
    "file_row_number": "0",
    "row_no": "1",
    "record_json": "{}",
    **{f"{prefix}_{c}": GOOD[c] for prefix in ("t", "x") for c in CHARGEBACK_COLUMNS},
    **{f"{prefix}_{i}": GOOD[c] for prefix in ("in", "v", "s") for i, c in enumerate(CHARGEBACK_COLUMNS)},
}


def _rows(wh: DuckDBWarehouse, sql: str) -> list[dict]:
    with wh.session() as s:
        return s.fetch_arrow(sql).to_pylist()


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def _refund_rows(prefix: str, n: int) -> list[list[str]]:
    return [[f"{prefix}-{i}", f"o{i}", "2026-01-02 10:00:00", "5.00", "other", "2026-01-02 10:00:30"] for i in range(n)]


REFUND_HEADER = TABLES["refunds"].column_names


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_shadow_columns_forge_no_row_into_raw(tmp_path, file_format):
    landing = tmp_path / "landing"
    header = CHARGEBACK_COLUMNS + list(SHADOWS)
    rows = [[GOOD[c] for c in CHARGEBACK_COLUMNS] + list(SHADOWS.values())]
    rows.append([FORGED[c] for c in CHARGEBACK_COLUMNS] + list(SHADOWS.values()))
    if file_format == "csv":
        _write_csv(landing / "chargebacks" / "b1.csv", header, rows)
    else:
        (landing / "chargebacks").mkdir(parents=True)
        columns = {h: pa.array([r[i] for r in rows]) for i, h in enumerate(header)}
        # Typed like validation's own typed columns, so a shadow would type-check.
        for name in ("t_reported_at", "t__loaded_at"):
            columns[name] = columns[name].cast(pa.timestamp("us"))
        columns["t_amount_usd"] = columns["t_amount_usd"].cast(pa.decimal128(12, 2))
        pq.write_table(pa.table(columns), landing / "chargebacks" / "b1.parquet")
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    ingest_landing(wh, landing, run_id="r1", now=NOW)

    raw = _rows(wh, "select chargeback_id, reason, amount_usd, _loaded_at, _source_row from raw.chargebacks")
    assert [(r["chargeback_id"], r["reason"], r["_source_row"]) for r in raw] == [("cb1", "fraud", 1)]
    forged = _rows(
        wh,
        "select count(*) as n from raw.chargebacks where chargeback_id is null or reason not in "
        f"('fraud', 'not_received', 'not_as_described', 'other') or amount_usd < 0 or _loaded_at > '{NOW}'",
    )
    assert forged == [{"n": 0}]
    quarantined = _rows(wh, "select source_row, reason from ingest.quarantine")
    assert quarantined == [
        {
            "source_row": 2,
            "reason": "null chargeback_id; unknown reason: bogus; negative amount_usd; _loaded_at in the future",
        }
    ]
    assert _rows(wh, "select status, rows_in_file, rows_loaded, rows_quarantined from ingest.file_ledger") == [
        {"status": "loaded", "rows_in_file": 2, "rows_loaded": 1, "rows_quarantined": 1}
    ]


def test_the_reported_forgery_a_reason_column_and_typed_t_columns_is_quarantined(tmp_path):
    # Issue 12, finding 5 exactly: `_reason` empty and `t_<column>` typed with valid values.
    landing = tmp_path / "landing"
    (landing / "chargebacks").mkdir(parents=True)
    forged = {c: pa.array([FORGED[c] or None]) for c in CHARGEBACK_COLUMNS}
    shadows = {
        "_reason": pa.array([""]),
        "t_chargeback_id": pa.array(["cb1"]),
        "t_order_id": pa.array(["o2"]),
        "t_reported_at": pa.array([datetime(2026, 1, 1, 10)], pa.timestamp("us")),
        "t_reason": pa.array(["fraud"]),
        "t_amount_usd": pa.array([Decimal("5.00")], pa.decimal128(12, 2)),
        "t__loaded_at": pa.array([datetime(2026, 1, 1, 10, 0, 30)], pa.timestamp("us")),
    }
    pq.write_table(pa.table({**forged, **shadows}), landing / "chargebacks" / "b1.parquet")
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert _rows(wh, "select count(*) as n from raw.chargebacks") == [{"n": 0}]
    assert _rows(wh, "select reason from ingest.quarantine") == [
        {"reason": "null chargeback_id; unknown reason: bogus; negative amount_usd; _loaded_at in the future"}
    ]


# name -> rows; each file's ids carry its own prefix (f0, f1, ...), so a row read from a
# look-alike file would show up under the wrong name.
GLOB_NAMES = {
    "y1.csv": 1,
    "y[1].csv": 2,
    "*.csv": 3,
    "y?.csv": 4,
    "[xy]1.csv": 5,
    "{y1,y2}.csv": 6,
    "p1.parquet": 7,
    "p[1].parquet": 8,
    "*.parquet": 9,
}


def test_file_names_with_glob_characters_load_exactly_their_own_rows(tmp_path):
    landing = tmp_path / "landing"
    (landing / "refunds").mkdir(parents=True)
    for i, (name, n) in enumerate(GLOB_NAMES.items()):
        rows = _refund_rows(f"f{i}", n)
        if name.endswith(".csv"):
            _write_csv(landing / "refunds" / name, REFUND_HEADER, rows)
        else:
            pq.write_table(
                pa.table({c: [r[k] for r in rows] for k, c in enumerate(REFUND_HEADER)}), landing / "refunds" / name
            )
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert not report.rejected
    per_file = _rows(
        wh,
        "select _source_file, count(*) as n, list(distinct split_part(refund_id, '-', 1)) as prefixes"
        " from raw.refunds group by 1",
    )
    assert {r["_source_file"]: (r["n"], r["prefixes"]) for r in per_file} == {
        f"refunds/{name}": (n, [f"f{i}"]) for i, (name, n) in enumerate(GLOB_NAMES.items())
    }


def _set_mtime(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_an_upload_in_flight_is_deferred_then_the_completed_file_is_loaded_exactly_once(tmp_path):
    landing = tmp_path / "landing"
    complete = "\n".join(",".join(r) for r in [REFUND_HEADER, *_refund_rows("up", 4)]) + "\n"
    path = landing / "refunds" / "upload.csv"
    path.parent.mkdir(parents=True)
    path.write_text(complete[: len(complete) // 2])
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    def still_uploading(seconds: float) -> None:
        # The uploader keeps writing while ingestion waits for the file to settle.
        with path.open("a") as f:
            f.write(complete[len(complete) // 2 : len(complete) // 2 + 10])

    first = ingest_landing(
        wh, landing, run_id="r1", now=NOW, options=IngestOptions(settle_seconds=30, sleep=still_uploading)
    )
    path.write_text(complete)
    _set_mtime(path, 60)
    second = ingest_landing(wh, landing, run_id="r2", now=NOW, options=IngestOptions(settle_seconds=30))
    third = ingest_landing(wh, landing, run_id="r3", now=NOW, options=IngestOptions(settle_seconds=30))

    assert [d.relative_path for d in first.deferred] == ["refunds/upload.csv"]
    assert first.outcomes == []
    assert [(o.status, o.rows_loaded) for o in second.outcomes] == [("loaded", 4)]
    assert (third.outcomes, third.files_already_ingested) == ([], 1)
    assert _rows(wh, "select count(*) as n, count(distinct refund_id) as ids from raw.refunds") == [{"n": 4, "ids": 4}]
    assert _rows(wh, "select status, rows_loaded from ingest.file_ledger") == [{"status": "loaded", "rows_loaded": 4}]


def test_a_file_that_settles_during_the_wait_is_loaded_in_the_same_run(tmp_path):
    landing = tmp_path / "landing"
    _write_csv(landing / "refunds" / "fresh.csv", REFUND_HEADER, _refund_rows("fresh", 3))
    waited = []
    clock = iter([1000.0, 1030.0])
    os.utime(landing / "refunds" / "fresh.csv", (999.0, 999.0))  # modified 1 s before the fake clock starts
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    report = ingest_landing(
        wh,
        landing,
        run_id="r1",
        now=NOW,
        options=IngestOptions(settle_seconds=30, clock=lambda: next(clock), sleep=waited.append),
    )

    assert waited == [29.0]
    assert (report.deferred, report.rows_loaded) == ([], 3)


def test_a_near_real_time_batch_defers_a_settling_file_without_waiting_and_loads_the_settled_ones(tmp_path):
    landing = tmp_path / "landing"
    _write_csv(landing / "refunds" / "fresh.csv", REFUND_HEADER, _refund_rows("fresh", 3))
    _write_csv(landing / "refunds" / "settled.csv", REFUND_HEADER, _refund_rows("old", 2))
    os.utime(landing / "refunds" / "fresh.csv", (999.0, 999.0))  # 1 s before the fake clock
    os.utime(landing / "refunds" / "settled.csv", (900.0, 900.0))
    waited = []
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    options = IngestOptions(settle_seconds=30, clock=lambda: 1000.0, sleep=waited.append, wait_for_recent=False)

    report = ingest_landing(wh, landing, run_id="r1", now=NOW, options=options)

    assert waited == []
    assert [d.relative_path for d in report.deferred] == ["refunds/fresh.csv"]
    assert report.rows_loaded == 2
    # Deferred: no ledger row, so the next run decides it.
    assert _rows(wh, "select file_path from ingest.file_ledger") == [{"file_path": "refunds/settled.csv"}]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_partial_upload_read_before_it_finished_is_rejected_then_loaded_exactly_once_complete(tmp_path, file_format):
    landing = tmp_path / "landing"
    path = landing / "refunds" / f"stalled.{file_format}"
    path.parent.mkdir(parents=True)
    if file_format == "csv":
        path.write_text("\n".join(",".join(r) for r in [REFUND_HEADER, *_refund_rows("st", 5)]) + "\n")
    else:
        pq.write_table(pa.table({c: [v[i] for v in _refund_rows("st", 5)] for i, c in enumerate(REFUND_HEADER)}), path)
    complete = path.read_bytes()
    # Cut inside the last CSV row / before the Parquet footer, and old enough to look settled.
    path.write_bytes(complete[: len(complete) - 20])
    _set_mtime(path, 3600)
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    partial = ingest_landing(wh, landing, run_id="r1", now=NOW)
    path.write_bytes(complete)
    completed = ingest_landing(wh, landing, run_id="r2", now=NOW)
    again = ingest_landing(wh, landing, run_id="r3", now=NOW)

    assert [o.status for o in partial.outcomes] == ["rejected"]
    assert [(o.status, o.rows_loaded) for o in completed.outcomes] == [("loaded", 5)]
    assert (again.outcomes, again.files_already_ingested) == ([], 1)
    assert _rows(wh, "select count(*) as n, count(distinct refund_id) as ids from raw.refunds") == [{"n": 5, "ids": 5}]


def test_a_file_bigger_than_the_cap_is_rejected_with_a_reason_and_the_others_load(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_INGEST_MAX_FILE_BYTES", "2000")
    landing = tmp_path / "landing"
    _write_csv(landing / "refunds" / "a_small.csv", REFUND_HEADER, _refund_rows("small", 3))
    big = _write_csv(landing / "refunds" / "b_big.csv", REFUND_HEADER, _refund_rows("big", 100))
    _write_csv(landing / "refunds" / "c_small.csv", REFUND_HEADER, _refund_rows("small2", 2))
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert [(o.relative_path, o.reason) for o in report.rejected] == [
        (
            "refunds/b_big.csv",
            f"file is {big.stat().st_size:,} bytes, over the 2,000-byte cap (VIGIL_INGEST_MAX_FILE_BYTES);"
            " split it into smaller batch files",
        )
    ]
    assert _rows(wh, "select count(*) as n from raw.refunds") == [{"n": 5}]


def test_an_exception_while_validating_one_file_rejects_it_and_the_run_loads_the_others(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    for name in ("a.csv", "b.csv", "c.csv"):
        _write_csv(landing / "refunds" / name, REFUND_HEADER, _refund_rows(name, 2))
    validate = load.validate_file

    def poisoned(path, table, source_file, *args, **kwargs):
        if source_file == "refunds/b.csv":
            raise MemoryError("out of memory while parsing")
        return validate(path, table, source_file, *args, **kwargs)

    monkeypatch.setattr(load, "validate_file", poisoned)
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")

    report = ingest_landing(wh, landing, run_id="r1", now=NOW)

    assert [(o.relative_path, o.reason) for o in report.rejected] == [
        ("refunds/b.csv", "cannot validate refunds/b.csv: MemoryError: out of memory while parsing")
    ]
    assert _rows(wh, "select _source_file, count(*) as n from raw.refunds group by 1 order by 1") == [
        {"_source_file": "refunds/a.csv", "n": 2},
        {"_source_file": "refunds/c.csv", "n": 2},
    ]


def _ingest(wh_path: Path, landing: Path, run_id: str) -> None:
    ingest_landing(DuckDBWarehouse(wh_path), landing, run_id=run_id, now=NOW)


def test_a_file_that_kills_ingestion_twice_is_rejected_as_poison_and_the_others_load(tmp_path):
    landing = tmp_path / "landing"
    for name in ("a.csv", "b.csv", "c.csv"):
        _write_csv(landing / "refunds" / name, REFUND_HEADER, _refund_rows(name, 2))
    wh_path = tmp_path / "wh.duckdb"
    # Dies while validating b.csv, as an out-of-memory kill would: no Python cleanup runs.
    crash = "ingest.after_validation:refunds/b.csv"

    first = run_in_child(_ingest, wh_path, landing, "r1", crash_at=crash)
    second = run_in_child(_ingest, wh_path, landing, "r2", crash_at=crash)
    third = run_in_child(_ingest, wh_path, landing, "r3", crash_at=crash)

    assert (first, second, third) == (-signal.SIGKILL, -signal.SIGKILL, 0)
    wh = DuckDBWarehouse(wh_path)
    ledger = _rows(wh, "select file_path, status, reason from ingest.file_ledger order by file_path")
    assert [(r["file_path"], r["status"]) for r in ledger] == [
        ("refunds/a.csv", "loaded"),
        ("refunds/b.csv", "rejected"),
        ("refunds/c.csv", "loaded"),
    ]
    assert ledger[1]["reason"].startswith("poison file: 2 earlier attempts to ingest it never finished")
    assert _rows(wh, "select count(*) as n from raw.refunds where _source_file = 'refunds/b.csv'") == [{"n": 0}]
    assert _rows(wh, "select count(*) as n from raw.refunds") == [{"n": 4}]
