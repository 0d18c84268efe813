"""Incremental, validated ingestion of a landing folder into the warehouse.

Each landing file is ingested once. The file ledger records it as `started` before any row is
written and `loaded` after the last one, so a crash between the two is detected next run: the
partial rows of that file are deleted and the file is loaded again. On DuckDB the whole file
is also one transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ml.contract import TABLES
from ml.ingest.schema import (
    INGEST_SCHEMA,
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    ensure_ingest_tables,
)
from ml.ingest.validate import UnreadableFileError, scratch_connection, validate_file
from ml.warehouse import Warehouse, WarehouseSession

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".parquet", ".csv")
CHANGED_FILE = "file changed size after it was ingested; landing files are immutable (contract)"


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative_path: str  # `<table>/<batch_id>.<ext>`, the ledger key
    table_name: str
    size: int


@dataclass(frozen=True)
class FileOutcome:
    relative_path: str
    table_name: str
    status: str  # loaded | rejected
    rows_in_file: int
    rows_loaded: int
    rows_quarantined: int
    reason: str | None = None


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    files_already_ingested: int = 0
    partial_files_recovered: int = 0
    quarantine_reasons: Counter[str] = field(default_factory=Counter)

    def table_summary(self, table_name: str) -> dict[str, int]:
        mine = [o for o in self.outcomes if o.table_name == table_name]
        return {
            "files_loaded": sum(o.status == "loaded" for o in mine),
            "files_rejected": sum(o.status == "rejected" for o in mine),
            "rows_in_files": sum(o.rows_in_file for o in mine),
            "rows_loaded": sum(o.rows_loaded for o in mine),
            "rows_quarantined": sum(o.rows_quarantined for o in mine),
        }

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]


def discover_landing_files(landing_dir: Path) -> list[LandingFile]:
    """Every file under `<landing>/<folder>/`, sorted so older batch ids load first.

    Files in folders that are not contract tables, or with other suffixes, are returned too
    (with their folder as table name) so they are rejected visibly rather than ignored.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist")
    files = []
    for path in sorted(landing_dir.glob("*/*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(landing_dir).as_posix()
            files.append(LandingFile(path, rel, path.parent.name, path.stat().st_size))
    return files


def _ledger(session: WarehouseSession) -> dict[str, list[tuple[int, str]]]:
    rows = session.fetch_arrow(f"select file_path, file_bytes, status from {INGEST_SCHEMA}.{LEDGER_TABLE}").to_pylist()
    known: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        known.setdefault(row["file_path"], []).append((row["file_bytes"], row["status"]))
    return known


def _ledger_row(
    f: LandingFile, status: str, counts: tuple[int, int, int], reason: str | None, now: datetime, run_id: str
) -> pa.Table:
    return pa.table(
        {
            "file_path": [f.relative_path],
            "table_name": [f.table_name],
            "file_bytes": pa.array([f.size], pa.int64()),
            "status": [status],
            "rows_in_file": pa.array([counts[0]], pa.int64()),
            "rows_loaded": pa.array([counts[1]], pa.int64()),
            "rows_quarantined": pa.array([counts[2]], pa.int64()),
            "reason": pa.array([reason], pa.string()),
            "ingested_at": pa.array([now], pa.timestamp("us")),
            "run_id": [run_id],
        }
    )


def _forget_partial(session: WarehouseSession, f: LandingFile) -> None:
    """Remove what a crashed earlier attempt wrote for this file."""
    if f.table_name in TABLES:
        session.execute(f"delete from {RAW_SCHEMA}.{f.table_name} where _source_file = ?", [f.relative_path])
    session.execute(f"delete from {INGEST_SCHEMA}.{QUARANTINE_TABLE} where source_file = ?", [f.relative_path])
    session.execute(
        f"delete from {INGEST_SCHEMA}.{LEDGER_TABLE} where file_path = ? and status = 'started'",
        [f.relative_path],
    )


def _with_columns(table: pa.Table, **columns: pa.Array) -> pa.Table:
    for name, values in columns.items():
        table = table.append_column(name, values)
    return table


def _ingest_file(
    session: WarehouseSession,
    f: LandingFile,
    now: datetime,
    run_id: str,
    report: IngestReport,
    scratch: duckdb.DuckDBPyConnection,
) -> FileOutcome:
    def reject(reason: str) -> FileOutcome:
        session.append_arrow(INGEST_SCHEMA, LEDGER_TABLE, _ledger_row(f, "rejected", (0, 0, 0), reason, now, run_id))
        return FileOutcome(f.relative_path, f.table_name, "rejected", 0, 0, 0, reason)

    if f.table_name not in TABLES:
        return reject(f"folder {f.table_name!r} is not a contract table")
    if f.path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return reject(f"unsupported file type {f.path.suffix!r}")
    try:
        batch = validate_file(f.path, TABLES[f.table_name], f.relative_path, now, con=scratch)
    except UnreadableFileError as exc:
        return reject(str(exc))

    counts = (batch.rows_in_file, batch.valid.num_rows, batch.quarantined.num_rows)
    session.append_arrow(INGEST_SCHEMA, LEDGER_TABLE, _ledger_row(f, "started", counts, None, now, run_id))
    ingested_at = pa.array([now] * batch.valid.num_rows, pa.timestamp("us"))
    session.append_arrow(RAW_SCHEMA, f.table_name, _with_columns(batch.valid, _ingested_at=ingested_at))
    n_q = batch.quarantined.num_rows
    session.append_arrow(
        INGEST_SCHEMA,
        QUARANTINE_TABLE,
        _with_columns(
            batch.quarantined,
            quarantined_at=pa.array([now] * n_q, pa.timestamp("us")),
            run_id=pa.array([run_id] * n_q, pa.string()),
        ),
    )
    note = f"ignored extra column(s): {', '.join(batch.extra_columns)}" if batch.extra_columns else None
    session.execute(
        f"update {INGEST_SCHEMA}.{LEDGER_TABLE} set status = 'loaded', reason = ? "
        "where file_path = ? and status = 'started'",
        [note, f.relative_path],
    )
    report.quarantine_reasons.update(
        r.split(":")[0] for reasons in batch.quarantined.column("reason").to_pylist() for r in reasons.split("; ")
    )
    return FileOutcome(f.relative_path, f.table_name, "loaded", *counts, reason=note)


def ingest_landing(warehouse: Warehouse, landing_dir: Path, run_id: str, now: datetime | None = None) -> IngestReport:
    """Load every landing file not yet in the ledger; return what happened to each."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    report = IngestReport()
    files = discover_landing_files(landing_dir)
    with warehouse.session() as session, closing(scratch_connection()) as scratch:
        ensure_ingest_tables(session)
        known = _ledger(session)
        for f in files:
            seen = known.get(f.relative_path, [])
            if any(status == "started" for _, status in seen):
                log.warning("recovering partially ingested file %s", f.relative_path)
                _forget_partial(session, f)
                report.partial_files_recovered += 1
                seen = [s for s in seen if s[1] != "started"]
            if seen:
                if f.size not in {size for size, _ in seen}:
                    session.append_arrow(
                        INGEST_SCHEMA, LEDGER_TABLE, _ledger_row(f, "rejected", (0, 0, 0), CHANGED_FILE, now, run_id)
                    )
                    report.outcomes.append(
                        FileOutcome(f.relative_path, f.table_name, "rejected", 0, 0, 0, CHANGED_FILE)
                    )
                else:
                    report.files_already_ingested += 1
                continue
            with session.transaction():
                outcome = _ingest_file(session, f, now, run_id, report, scratch)
            report.outcomes.append(outcome)
            log.info(
                "%s: %s (%d loaded, %d quarantined)",
                f.relative_path,
                outcome.status,
                outcome.rows_loaded,
                outcome.rows_quarantined,
            )
    return report
