"""kill -9 at every step of a file's ingestion: the next run ends where a clean run ends.

Each case runs ingestion in a real subprocess that SIGKILLs itself at a named crash point
(`ml.faults.crash_point`) while ingesting the last of three files, so two files are committed
and the third is mid-way. The next run must finish, and raw, ledger and
quarantine must then equal those of a run that never crashed (run ids aside).
"""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.ingest.load import ingest_landing
from ml.ingest.options import IngestOptions
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.faults.processes import run_in_child

NOW = datetime(2026, 10, 1)
STEPS = ["after_attempt_marker", "after_validation", "after_raw_rows", "after_quarantine", "before_loaded_marker"]
VICTIM = "refunds/b.parquet"
# What must come out the same; run ids differ between a crashed-and-resumed run and a clean one.
COMPARED = {
    "raw.refunds": "select * exclude (_ingested_at) from raw.refunds order by _source_file, _source_row",
    "raw.chargebacks": "select * exclude (_ingested_at) from raw.chargebacks order by _source_file, _source_row",
    "ingest.file_ledger": "select * exclude (run_id) from ingest.file_ledger order by file_path, status",
    "ingest.quarantine": "select * exclude (run_id) from ingest.quarantine order by source_file, source_row",
}


def _landing(root: Path) -> Path:
    landing = root / "landing"
    (landing / "refunds").mkdir(parents=True)
    (landing / "chargebacks").mkdir()
    header = ",".join(TABLES["refunds"].column_names)
    (landing / "refunds" / "a.csv").write_text(
        f"{header}\n"
        "r1,o1,2026-01-02 10:00:00,5.00,other,2026-01-02 10:00:30\n"
        "r2,o2,2026-01-02 11:00:00,-1.00,other,2026-01-02 11:00:30\n"
    )
    pq.write_table(
        pa.table(
            {
                "refund_id": ["r3", None, "r5"],
                "order_id": ["o3", "o4", "o5"],
                "created_at": pa.array([datetime(2026, 1, 3, 9)] * 3, pa.timestamp("us")),
                "amount_usd": ["3.50", "1.00", "2.25"],
                "reason": ["buyer_remorse", "other", "lost"],
                "_loaded_at": pa.array([datetime(2026, 1, 3, 9, 1)] * 3, pa.timestamp("us")),
            }
        ),
        landing / VICTIM,
    )
    header = ",".join(TABLES["chargebacks"].column_names)
    (landing / "chargebacks" / "c.csv").write_text(
        f"{header}\ncb1,o1,2026-02-01 10:00:00,fraud,5.00,2026-02-01 10:05:00\n"
    )
    return landing


def _ingest(wh_path: Path, landing: Path, run_id: str) -> None:
    ingest_landing(DuckDBWarehouse(wh_path), landing, run_id=run_id, now=NOW, options=IngestOptions(settle_seconds=0))


def _run(wh_path: Path, landing: Path, run_id: str, crash_at: str | None = None) -> int:
    """Ingestion in a real child process; its exit code (-9 when killed at `crash_at`)."""
    return run_in_child(_ingest, wh_path, landing, run_id, crash_at=crash_at)


def _tables(wh: DuckDBWarehouse) -> dict[str, list[dict]]:
    with wh.session() as s:
        return {name: s.fetch_arrow(sql).to_pylist() for name, sql in COMPARED.items()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict[str, list[dict]]]:
    root = tmp_path_factory.mktemp("clean")
    landing = _landing(root)
    wh = DuckDBWarehouse(root / "wh.duckdb")
    ingest_landing(wh, landing, run_id="clean", now=NOW, options=IngestOptions(settle_seconds=0))
    return landing, _tables(wh)


def test_the_clean_run_loads_quarantines_and_ledgers_every_file(clean):
    _, tables = clean
    assert [r["refund_id"] for r in tables["raw.refunds"]] == ["r1", "r3"]
    assert [r["chargeback_id"] for r in tables["raw.chargebacks"]] == ["cb1"]
    assert [(r["file_path"], r["status"]) for r in tables["ingest.file_ledger"]] == [
        ("chargebacks/c.csv", "loaded"),
        ("refunds/a.csv", "loaded"),
        (VICTIM, "loaded"),
    ]
    assert len(tables["ingest.quarantine"]) == 3


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_each_ingestion_step_then_the_next_run_equals_a_clean_run(tmp_path, clean, step):
    landing, expected = clean
    wh_path = tmp_path / "wh.duckdb"

    crashed = _run(wh_path, landing, "crashed", crash_at=f"ingest.{step}:{VICTIM}")
    resumed = _run(wh_path, landing, "resumed")

    assert (crashed, resumed) == (-signal.SIGKILL, 0)
    wh = DuckDBWarehouse(wh_path)
    assert _tables(wh) == expected
    with wh.session() as s:
        attempts = s.fetch_arrow(
            "select file_path, run_id, outcome from ingest.file_attempts order by file_path, started_at, run_id"
        ).to_pylist()
    # The victim's first attempt is on record as dead; each file was loaded once.
    assert [(a["file_path"], a["run_id"], a["outcome"]) for a in attempts if a["file_path"] == VICTIM] == [
        (VICTIM, "crashed", "died"),
        (VICTIM, "resumed", "loaded"),
    ]
    assert sum(a["outcome"] == "loaded" for a in attempts) == 3


def test_kill_9_before_any_file_is_committed_then_the_next_run_loads_everything(tmp_path, clean):
    landing, expected = clean
    wh_path = tmp_path / "wh.duckdb"

    crashed = _run(wh_path, landing, "crashed", crash_at="ingest.after_raw_rows")  # the first file
    resumed = _run(wh_path, landing, "resumed")
    again = _run(wh_path, landing, "again")

    assert (crashed, resumed, again) == (-signal.SIGKILL, 0, 0)
    assert _tables(DuckDBWarehouse(wh_path)) == expected
