"""The file ledger: what became of each landing file, and the rule deciding what to do next.

A landing file is identified by its content (sha256), with its size and modification time as
a cheap first look: a file whose size and mtime match a ledger row is not read again; any other
file is hashed. Then (see README, "Ingestion guarantees"):

- content already loaded under this path              -> nothing to do (touched, not changed);
- other content already loaded under this path        -> rejected once as a contract violation
  (landing files are immutable); the rows loaded earlier stay, the new content is not loaded;
- content already rejected under this path            -> nothing to do (same content, same verdict);
- anything else (new, or a rejected file that changed) -> ingest it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import pyarrow as pa

from ml.ingest.schema import ATTEMPTS_TABLE, LEDGER_TABLE
from ml.warehouse import WarehouseSession

_EPOCH = datetime(1970, 1, 1)


def mtime_as_timestamp(mtime_ns: int) -> datetime:
    """A file's mtime as a naive UTC timestamp, microsecond precision (what the ledger holds)."""
    return _EPOCH + timedelta(microseconds=mtime_ns // 1000)


@dataclass(frozen=True)
class LedgerEntry:
    status: str  # started | loaded | rejected
    file_bytes: int
    modified_at: datetime | None  # null on rows written before the ledger held it
    sha256: str | None  # null for files rejected unread, and on rows that predate hashing
    reason: str | None = None


class Verdict(Enum):
    ALREADY_LOADED = "already loaded"
    ALREADY_REJECTED = "already rejected"
    CHANGED_AFTER_LOAD = "changed after it was loaded"
    INGEST = "ingest"


def seen_unchanged(entries: list[LedgerEntry], size: int, modified_at: datetime) -> bool:
    """Whether a finished ledger row has this exact size and mtime: same file, no need to read it.

    Rows rejected unread (no hash) do not count: the size cap may have changed since. Rows
    from before the ledger held mtimes match on size alone, as they did when written.
    """
    for e in entries:
        if e.status == "started" or e.file_bytes != size:
            continue
        if e.modified_at is None and e.status == "loaded":
            return True
        if e.sha256 is not None and e.modified_at == modified_at:
            return True
    return False


def verdict(entries: list[LedgerEntry], sha256: str) -> Verdict:
    """What to do with a file whose content hashes to `sha256`, given its path's ledger rows."""
    loaded = [e for e in entries if e.status == "loaded"]
    rejected_same = any(e.status == "rejected" and e.sha256 == sha256 for e in entries)
    if any(e.sha256 == sha256 for e in loaded):
        return Verdict.ALREADY_LOADED
    if loaded:
        return Verdict.ALREADY_REJECTED if rejected_same else Verdict.CHANGED_AFTER_LOAD
    return Verdict.ALREADY_REJECTED if rejected_same else Verdict.INGEST


def changed_after_load_reason(entries: list[LedgerEntry], sha256: str) -> str:
    loaded = next(e for e in reversed(entries) if e.status == "loaded")
    before = (loaded.sha256 or "unknown")[:12]
    return (
        f"content changed after it was loaded (sha256 {before}... -> {sha256[:12]}...); landing files are "
        "immutable (contract): the rows loaded from the earlier content stay, the new content is not "
        "loaded. Write new rows to a new batch file."
    )


def poison_reason(run_ids: list[str]) -> str:
    return (
        f"poison file: {len(run_ids)} earlier attempts to ingest it never finished (the process died, e.g. "
        f"out of memory, or a write failed; runs {', '.join(run_ids)}). Rejected so later runs proceed: "
        "split or fix the file (changed content is retried)."
    )


def read_ledger(session: WarehouseSession, ingest_schema: str) -> dict[str, list[LedgerEntry]]:
    rows = session.fetch_arrow(
        f"select file_path, status, file_bytes, file_modified_at, file_sha256, reason "
        f"from {ingest_schema}.{LEDGER_TABLE} order by ingested_at"
    ).to_pylist()
    ledger: dict[str, list[LedgerEntry]] = {}
    for r in rows:
        entry = LedgerEntry(r["status"], r["file_bytes"], r["file_modified_at"], r["file_sha256"], r["reason"])
        ledger.setdefault(r["file_path"], []).append(entry)
    return ledger


def read_unfinished_attempts(session: WarehouseSession, ingest_schema: str) -> dict[tuple[str, str], list[str]]:
    """(file path, sha256) -> run ids of attempts that died or never finished."""
    rows = session.fetch_arrow(
        f"select file_path, file_sha256, run_id from {ingest_schema}.{ATTEMPTS_TABLE} "
        "where outcome is null or outcome = 'died' order by started_at"
    ).to_pylist()
    attempts: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        attempts.setdefault((r["file_path"], r["file_sha256"]), []).append(r["run_id"])
    return attempts


@dataclass(frozen=True)
class FileIdentity:
    relative_path: str
    table_name: str
    size: int
    modified_at: datetime
    sha256: str | None


def ledger_row(
    f: FileIdentity,
    status: str,
    counts: tuple[int, int, int],
    reason: str | None,
    now: datetime,
    run_id: str,
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
            "file_sha256": pa.array([f.sha256], pa.string()),
            "file_modified_at": pa.array([f.modified_at], pa.timestamp("us")),
        }
    )
