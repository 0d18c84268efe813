"""Incremental, validated ingestion of a landing folder into the warehouse.

Per file (README, "Ingestion guarantees", states the rules):
1. Skip it if the ledger already holds its size and mtime; defer it (no ledger row) while it
   is still being written; reject it unread if it is over the size cap.
2. Copy it privately, hashing the copy; decide from the hash (`ml.ingest.ledger.verdict`).
3. Commit an attempt marker, then validate the copy. An exception rejects this file only.
   A file whose earlier attempts never finished (the process died) is retried once more, after
   every other file; at `max_attempts` unfinished attempts it is rejected as poison.
4. In one transaction: ledger `started`, raw rows, quarantined rows, a count check in the
   warehouse, ledger `loaded`. A crash mid-way leaves `started` (on an engine whose bulk
   loads commit on their own) and the next run deletes the partial rows and loads again.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import duckdb
import pyarrow as pa

from ml.contract import TABLES
from ml.faults import crash_point
from ml.ingest.ledger import (
    FileIdentity,
    LedgerEntry,
    Verdict,
    changed_after_load_reason,
    ledger_row,
    mtime_as_timestamp,
    poison_reason,
    read_ledger,
    read_unfinished_attempts,
    seen_unchanged,
    verdict,
)
from ml.ingest.options import IngestOptions
from ml.ingest.read import SUPPORTED_SUFFIXES, FileTooLargeError, Snapshot, snapshot, too_large_reason
from ml.ingest.schema import ATTEMPTS_TABLE, LEDGER_TABLE, QUARANTINE_TABLE, ensure_ingest_tables
from ml.ingest.validate import (
    RowAccountingError,
    UnreadableFileError,
    ValidatedBatch,
    scratch_connection,
    validate_file,
)
from ml.warehouse import Warehouse, WarehouseSession, sql_type

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative_path: str  # `<table>/<batch file>`, the ledger key
    table_name: str
    size: int
    mtime_ns: int

    @property
    def modified_at(self) -> datetime:
        return mtime_as_timestamp(self.mtime_ns)

    def restat(self) -> LandingFile | None:
        """The same path as it is now (None if it is gone)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return replace(self, size=st.st_size, mtime_ns=st.st_mtime_ns)


@dataclass(frozen=True)
class FileOutcome:
    relative_path: str
    table_name: str
    status: str  # loaded | rejected
    rows_in_file: int
    rows_loaded: int
    rows_quarantined: int
    reason: str | None = None


@dataclass(frozen=True)
class DeferredFile:
    """A file left for a later run without a ledger row (still being written, or unreadable now)."""

    relative_path: str
    reason: str


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    deferred: list[DeferredFile] = field(default_factory=list)
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

    Names are listed, never matched as patterns. Hidden files (`.name`) are skipped: producers
    write them while uploading and rename them when complete. Files in folders that are not
    contract tables, or with other suffixes, are returned too (their folder as table name) so
    they are rejected visibly rather than ignored.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist")
    files = []
    with os.scandir(landing_dir) as folders:
        for folder in folders:
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    st = entry.stat()
                    files.append(
                        LandingFile(
                            Path(entry.path), f"{folder.name}/{entry.name}", folder.name, st.st_size, st.st_mtime_ns
                        )
                    )
    return sorted(files, key=lambda f: f.relative_path)


def _settle(files: list[LandingFile], options: IngestOptions) -> tuple[list[LandingFile], list[DeferredFile]]:
    """Files unchanged for `settle_seconds`; waits at most that long once (unless
    `wait_for_recent` is off), defers the rest.

    A file modified within the interval may be an upload in flight: it is looked at again after
    the wait and deferred (no ledger row, so nothing is decided about it) if it changed or is
    still that recent. The next run picks it up.
    """
    settle = options.settle_seconds
    now = options.clock()

    def recent(f: LandingFile, at: float) -> bool:
        return abs(at - f.mtime_ns / 1e9) < settle

    waiting = [f for f in files if recent(f, now)]
    if not waiting:
        return files, []
    if options.wait_for_recent:
        wait = min(settle, max(settle - (now - f.mtime_ns / 1e9) for f in waiting))
        log.info("%d landing file(s) modified in the last %.0fs: waiting %.1fs for them", len(waiting), settle, wait)
        options.sleep(max(wait, 0.0))
        now = options.clock()
    waiting_paths = {f.relative_path for f in waiting}
    ready = [f for f in files if f.relative_path not in waiting_paths]
    deferred = []
    for f in waiting:
        current = f.restat()
        if current is None:
            deferred.append(DeferredFile(f.relative_path, "disappeared while waiting for it to settle"))
        elif (current.size, current.mtime_ns) != (f.size, f.mtime_ns) or recent(current, now):
            reason = f"modified within the last {settle:g}s (VIGIL_INGEST_SETTLE_SECONDS): still being written?"
            deferred.append(DeferredFile(f.relative_path, reason))
        else:
            ready.append(current)
    return sorted(ready, key=lambda f: f.relative_path), deferred


class _Scratch:
    """The validation DuckDB, opened on first use and replaced after a failure (a fatal DuckDB
    error invalidates the connection, which must not fail the next file too)."""

    def __init__(self, options: IngestOptions, temp_directory: Path) -> None:
        self._options, self._temp, self._con = options, temp_directory, None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = scratch_connection(self._options.memory_limit, self._temp)
        return self._con

    def reset(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except duckdb.Error:
                pass
            self._con = None


def _crash_point(step: str, f: LandingFile) -> None:
    """Fault injection: `ingest.<step>` (any file) or `ingest.<step>:<table>/<file>` (that file)."""
    crash_point(f"ingest.{step}")
    crash_point(f"ingest.{step}:{f.relative_path}")


@dataclass
class _Run:
    session: WarehouseSession
    options: IngestOptions
    run_id: str
    now: datetime
    report: IngestReport
    ledger: dict[str, list[LedgerEntry]]
    unfinished: dict[tuple[str, str], list[str]]
    scratch: _Scratch
    scratch_dir: Path

    @property
    def raw(self) -> str:
        return self.options.raw_schema

    @property
    def ingest(self) -> str:
        return self.options.ingest_schema

    def ts(self, value: datetime) -> tuple[str, str]:
        """SQL and parameter for a timestamp (portable: bound as text, cast in SQL)."""
        return f"cast(? as {sql_type('timestamp', self.session.dialect)})", value.isoformat(sep=" ")


def _reject(run: _Run, ident: FileIdentity, reason: str, attempted: bool = False) -> None:
    with run.session.transaction():
        run.session.append_arrow(
            run.ingest, LEDGER_TABLE, ledger_row(ident, "rejected", (0, 0, 0), reason, run.now, run.run_id)
        )
        if attempted:
            _finish_attempt(run, ident, "rejected")
    run.report.outcomes.append(FileOutcome(ident.relative_path, ident.table_name, "rejected", 0, 0, 0, reason))
    log.warning("%s: rejected: %s", ident.relative_path, reason)


def _finish_attempt(run: _Run, ident: FileIdentity, outcome: str) -> None:
    run.session.execute(
        f"update {run.ingest}.{ATTEMPTS_TABLE} set outcome = ? "
        "where file_path = ? and file_sha256 = ? and run_id = ? and outcome is null",
        [outcome, ident.relative_path, ident.sha256, run.run_id],
    )


def _start_attempt(run: _Run, ident: FileIdentity) -> None:
    """Committed on its own, before the file is read: survives the process dying on the file."""
    sql, value = run.ts(run.now)
    run.session.execute(
        f"insert into {run.ingest}.{ATTEMPTS_TABLE} (file_path, file_sha256, run_id, started_at) "
        f"values (?, ?, ?, {sql})",
        [ident.relative_path, ident.sha256, run.run_id, value],
    )


def _forget_partial(run: _Run, ident: FileIdentity) -> None:
    """Remove what earlier, unfinished attempts wrote for this path and mark them dead.

    Only called for paths with nothing loaded, so no row of a loaded file is touched."""
    path = ident.relative_path
    with run.session.transaction():
        if ident.table_name in TABLES:
            run.session.execute(f"delete from {run.raw}.{ident.table_name} where _source_file = ?", [path])
        run.session.execute(f"delete from {run.ingest}.{QUARANTINE_TABLE} where source_file = ?", [path])
        run.session.execute(
            f"delete from {run.ingest}.{LEDGER_TABLE} where file_path = ? and status = 'started'", [path]
        )
        run.session.execute(
            f"update {run.ingest}.{ATTEMPTS_TABLE} set outcome = 'died' where file_path = ? and outcome is null", [path]
        )


def _with_columns(table: pa.Table, **columns: pa.Array) -> pa.Table:
    for name, values in columns.items():
        table = table.append_column(name, values)
    return table


def _count(run: _Run, sql: str, params: list) -> int:
    return int(run.session.fetch_arrow(sql, params).column(0)[0].as_py())


def _write(run: _Run, f: LandingFile, ident: FileIdentity, batch: ValidatedBatch) -> None:
    """Raw rows, quarantine and ledger for one file, inside the caller's transaction."""
    session, n_valid, n_quarantined = run.session, batch.valid.num_rows, batch.quarantined.num_rows
    if n_valid + n_quarantined != batch.rows_in_file:
        raise RowAccountingError(
            f"row accounting failed: {n_valid} valid + {n_quarantined} quarantined != {batch.rows_in_file} rows in file"
        )
    counts = (batch.rows_in_file, n_valid, n_quarantined)
    session.append_arrow(run.ingest, LEDGER_TABLE, ledger_row(ident, "started", counts, None, run.now, run.run_id))
    ingested_at = pa.array([run.now] * n_valid, pa.timestamp("us"))
    session.append_arrow(run.raw, f.table_name, _with_columns(batch.valid, _ingested_at=ingested_at))
    _crash_point("after_raw_rows", f)
    session.append_arrow(
        run.ingest,
        QUARANTINE_TABLE,
        _with_columns(
            batch.quarantined,
            quarantined_at=pa.array([run.now] * n_quarantined, pa.timestamp("us")),
            run_id=pa.array([run.run_id] * n_quarantined, pa.string()),
        ),
    )
    _crash_point("after_quarantine", f)
    # The identity once more, as the warehouse sees it: exactly this file's rows, once.
    in_raw = _count(run, f"select count(*) from {run.raw}.{f.table_name} where _source_file = ?", [f.relative_path])
    in_quarantine = _count(
        run, f"select count(*) from {run.ingest}.{QUARANTINE_TABLE} where source_file = ?", [f.relative_path]
    )
    if (in_raw, in_quarantine) != (n_valid, n_quarantined):
        raise RowAccountingError(
            f"row accounting failed in the warehouse: {in_raw} raw + {in_quarantine} quarantined rows "
            f"for this file, expected {n_valid} + {n_quarantined}"
        )
    _crash_point("before_loaded_marker", f)
    session.execute(
        f"update {run.ingest}.{LEDGER_TABLE} set status = 'loaded', reason = ? "
        "where file_path = ? and status = 'started'",
        [batch.note, f.relative_path],
    )
    _finish_attempt(run, ident, "loaded")


def _read_privately(run: _Run, f: LandingFile) -> Snapshot | DeferredFile | str:
    """A private, hashed copy of a settled file; a deferral if it is changing; a rejection reason
    if it is over the cap."""
    copy = run.scratch_dir / ("input" + f.path.suffix.lower())
    try:
        snap = snapshot(f.path, copy, run.options.max_file_bytes)
    except FileTooLargeError as exc:
        now = f.restat()
        if now is None or (now.size, now.mtime_ns) != (f.size, f.mtime_ns):
            return DeferredFile(f.relative_path, "grew while being read: still being written?")
        return str(exc)
    except OSError as exc:
        return DeferredFile(f.relative_path, f"cannot be opened now: {exc.strerror or exc}")
    now = f.restat()
    if now is None or (now.size, now.mtime_ns, snap.size) != (f.size, f.mtime_ns, f.size):
        return DeferredFile(f.relative_path, "changed while being read: still being written?")
    return snap


def _ingest_file(run: _Run, f: LandingFile) -> None:
    entries = run.ledger.get(f.relative_path, [])
    unread = FileIdentity(f.relative_path, f.table_name, f.size, f.modified_at, None)
    if f.size > run.options.max_file_bytes:
        if not any(e.sha256 is None and (e.file_bytes, e.modified_at) == (f.size, f.modified_at) for e in entries):
            _reject(run, unread, too_large_reason(f.size, run.options.max_file_bytes))
        else:
            run.report.files_already_ingested += 1
        return
    snap = _read_privately(run, f)
    if isinstance(snap, DeferredFile):
        run.report.deferred.append(snap)
        log.warning("%s: deferred: %s", snap.relative_path, snap.reason)
        return
    if isinstance(snap, str):
        _reject(run, unread, snap)
        return
    ident = FileIdentity(f.relative_path, f.table_name, f.size, f.modified_at, snap.sha256)
    decision = verdict(entries, snap.sha256)
    if decision in (Verdict.ALREADY_LOADED, Verdict.ALREADY_REJECTED):
        run.report.files_already_ingested += 1
        return
    if decision is Verdict.CHANGED_AFTER_LOAD:
        _reject(run, ident, changed_after_load_reason(entries, snap.sha256))
        return
    if f.table_name not in TABLES:
        _reject(run, ident, f"folder {f.table_name!r} is not a contract table")
        return
    if f.path.suffix.lower() not in SUPPORTED_SUFFIXES:
        _reject(run, ident, f"unsupported file type {f.path.suffix!r} (expected .parquet or .csv)")
        return

    died = run.unfinished.get((f.relative_path, snap.sha256), [])
    if len(died) >= run.options.max_attempts:
        _forget_partial(run, ident)
        _reject(run, ident, poison_reason(died))
        return
    if died or any(e.status == "started" for e in entries):
        log.warning("%s: an earlier attempt did not finish; cleaning up and retrying", f.relative_path)
        _forget_partial(run, ident)
        run.report.partial_files_recovered += 1

    _start_attempt(run, ident)
    _crash_point("after_attempt_marker", f)
    try:
        batch = validate_file(snap.path, TABLES[f.table_name], f.relative_path, run.now, con=run.scratch.con)
    except UnreadableFileError as exc:
        run.scratch.reset()
        _reject(run, ident, str(exc), attempted=True)
        return
    except Exception as exc:  # noqa: BLE001 - any failure on one file must not stop the others
        run.scratch.reset()
        _reject(run, ident, f"cannot validate {f.relative_path}: {type(exc).__name__}: {exc}", attempted=True)
        return
    _crash_point("after_validation", f)

    try:
        with run.session.transaction():
            _write(run, f, ident, batch)
    except RowAccountingError as exc:  # rolled back: nothing of the file is loaded
        _reject(run, ident, str(exc), attempted=True)
        return
    run.report.outcomes.append(
        FileOutcome(
            f.relative_path,
            f.table_name,
            "loaded",
            batch.rows_in_file,
            batch.valid.num_rows,
            batch.quarantined.num_rows,
            batch.note,
        )
    )
    run.report.quarantine_reasons.update(
        r.split(":")[0] for reasons in batch.quarantined.column("reason").to_pylist() for r in reasons.split("; ")
    )
    log.info("%s: loaded (%d rows, %d quarantined)", f.relative_path, batch.valid.num_rows, batch.quarantined.num_rows)


def ingest_landing(
    warehouse: Warehouse,
    landing_dir: Path,
    run_id: str,
    now: datetime | None = None,
    options: IngestOptions | None = None,
) -> IngestReport:
    """Load every landing file not yet decided in the ledger; return what happened to each.

    `now` (default: the wall clock, UTC) bounds `_loaded_at` and stamps ledger rows; `options`
    default to the environment's (`IngestOptions.from_env`).
    """
    options = options or IngestOptions.from_env()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    report = IngestReport()
    files = discover_landing_files(landing_dir)
    with warehouse.session() as session, TemporaryDirectory(prefix="vigil_ingest_") as tmp:
        ensure_ingest_tables(session, options.raw_schema, options.ingest_schema)
        ledger = read_ledger(session, options.ingest_schema)
        todo = []
        for f in files:
            if seen_unchanged(ledger.get(f.relative_path, []), f.size, f.modified_at):
                report.files_already_ingested += 1
            else:
                todo.append(f)
        ready, report.deferred = _settle(todo, options)
        for d in report.deferred:
            log.warning("%s: deferred: %s", d.relative_path, d.reason)
        unfinished = read_unfinished_attempts(session, options.ingest_schema)
        # Files an earlier run died on go last, so a poison file cannot hold the others back.
        retrying = {path for path, _ in unfinished}
        ready.sort(key=lambda f: (f.relative_path in retrying, f.relative_path))
        scratch = _Scratch(options, Path(tmp))
        run = _Run(session, options, run_id, now, report, ledger, unfinished, scratch, Path(tmp))
        try:
            for f in ready:
                _ingest_file(run, f)
        finally:
            scratch.reset()
    return report
