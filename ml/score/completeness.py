"""Is as-of day D's raw data complete? The data half of the publication gate.

Per contract table: rows *loaded* on D (by `_loaded_at`) against the days before (volume),
the newest row loaded up to the end of D (freshness), and the share of D's rows that were
quarantined; and any rejected landing file that may hold rows of D. Everything is relative to
D, so a backfill is judged exactly as the daily run was.

Which quarantined rows belong to D: those whose own `_loaded_at` (read from the row's original
values, whatever the header's case) falls on D. A row without a readable `_loaded_at` counts
for every day its file holds rows of; a file with no readable day at all counts for every day
up to the day it was ingested (it could hold any of them). A rejected file cannot be read at
all, so it counts the same way: for every day up to its ingestion.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from ml import settings
from ml.contract import TABLES
from ml.ingest.schema import LEDGER_TABLE, QUARANTINE_TABLE
from ml.score.checks import (
    CheckResult,
    freshness_check,
    quarantine_check,
    rejected_files_check,
    volume_check,
)
from ml.score.thresholds import PublicationThresholds
from ml.warehouse import Warehouse, WarehouseSession


@dataclass(frozen=True)
class TableLoads:
    """What was loaded into one raw table over a range of days (and the window before it)."""

    table: str
    exists: bool
    per_day: dict[date, int]  # rows loaded per day, by `_loaded_at`
    last_per_day: dict[date, datetime]  # newest `_loaded_at` of each day with rows
    first_day: date | None  # the day of the table's first load
    last_before: datetime | None  # newest `_loaded_at` before the range's window

    def rows_on(self, day: date) -> int:
        return self.per_day.get(day, 0)

    def history(self, day: date, window_days: int) -> list[int]:
        """Rows per day over the window before D, from the table's first load (zeros kept)."""
        days = (day - timedelta(days=i) for i in range(window_days, 0, -1))
        return [self.per_day.get(d, 0) for d in days if self.first_day is not None and d >= self.first_day]

    def last_loaded_up_to(self, day: date) -> datetime | None:
        """Newest `_loaded_at` up to the end of D."""
        known = [moment for d, moment in self.last_per_day.items() if d <= day]
        return max(known) if known else self.last_before


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _table_exists(session: WarehouseSession, schema: str, table: str) -> bool:
    rows = session.fetch_arrow(
        "select count(*) as n from information_schema.tables where lower(table_schema) = ? and lower(table_name) = ?",
        [schema, table],
    ).to_pylist()
    return int(rows[0]["n"]) > 0


def read_table_loads(
    session: WarehouseSession, table: str, first: date, last: date, thresholds: PublicationThresholds
) -> TableLoads:
    """Loads of one raw table per day over [first - window, last]: one grouped scan."""
    if not _table_exists(session, settings.raw_schema(), table):
        return TableLoads(table, False, {}, {}, None, None)
    start = _midnight(first - timedelta(days=thresholds.volume_window_days))
    per_day = session.fetch_arrow(
        f"select cast(_loaded_at as date) as loaded_on, count(*) as n, max(_loaded_at) as last_loaded_at"
        f" from {settings.raw_schema()}.{table} where _loaded_at >= ? and _loaded_at < ? group by 1",
        [start, _midnight(last + timedelta(days=1))],
    ).to_pylist()
    before = session.fetch_arrow(
        f"select min(_loaded_at) as first_loaded_at, max(case when _loaded_at < ? then _loaded_at end) as last_before"
        f" from {settings.raw_schema()}.{table}",
        [start],
    ).to_pylist()[0]
    return TableLoads(
        table,
        True,
        {row["loaded_on"]: int(row["n"]) for row in per_day},
        {row["loaded_on"]: row["last_loaded_at"] for row in per_day},
        before["first_loaded_at"].date() if before["first_loaded_at"] else None,
        before["last_before"],
    )


def _loaded_on(record_json: str) -> date | None:
    """The day of a quarantined row's own `_loaded_at`, if it has a readable one."""
    try:
        values = {str(k).lower(): v for k, v in json.loads(record_json).items()}
        return date.fromisoformat(str(values["_loaded_at"]).strip()[:10])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def quarantined_per_day(session: WarehouseSession, first: date, last: date) -> dict[date, Counter[str]]:
    """Quarantined rows per day of [first, last] and table (see the module docstring)."""
    # A row loaded on D is quarantined no earlier than D (less a loader's clock skew).
    rows = session.fetch_arrow(
        "select table_name, source_file, record_json, quarantined_at"
        f" from {settings.ingest_schema()}.{QUARANTINE_TABLE} where quarantined_at >= ?",
        [_midnight(first - timedelta(days=1))],
    ).to_pylist()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts: dict[date, Counter[str]] = {day: Counter() for day in days}
    undated: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    file_days: dict[str, set[date]] = defaultdict(set)
    for row in rows:
        loaded_on = _loaded_on(row["record_json"])
        if loaded_on is None:
            undated[(row["table_name"], row["source_file"])].append(row["quarantined_at"])
        else:
            file_days[row["source_file"]].add(loaded_on)
            if loaded_on in counts:
                counts[loaded_on][row["table_name"]] += 1
    for (table, source_file), quarantined_at in undated.items():
        span = set(file_days[source_file])
        if table in TABLES:
            span |= _raw_days_of_file(session, table, source_file)
        for day in days:
            # Without any readable day, the file may hold rows of any day up to its ingestion.
            if (min(span) <= day <= max(span)) if span else day <= max(quarantined_at).date():
                counts[day][table] += len(quarantined_at)
    return counts


def _raw_days_of_file(session: WarehouseSession, table: str, source_file: str) -> set[date]:
    row = session.fetch_arrow(
        "select min(_loaded_at) as first, max(_loaded_at) as last"
        f" from {settings.raw_schema()}.{table} where _source_file = ?",
        [source_file],
    ).to_pylist()[0]
    return {row["first"].date(), row["last"].date()} if row["first"] else set()


def rejected_files(session: WarehouseSession) -> list[tuple[str, str, datetime]]:
    """Contract-table files whose latest ledger outcome is `rejected`: (path, reason, when)."""
    rows = session.fetch_arrow(
        f"select file_path, table_name, status, reason, ingested_at from {settings.ingest_schema()}.{LEDGER_TABLE}"
    ).to_pylist()
    latest: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r["ingested_at"], r["status"] == "rejected")):
        latest[row["file_path"]] = row
    return [
        (path, row["reason"] or "rejected", row["ingested_at"])
        for path, row in sorted(latest.items())
        if row["status"] == "rejected" and row["table_name"] in TABLES
    ]


def rejected_files_for(rejected: list[tuple[str, str, datetime]], day: date) -> list[tuple[str, str]]:
    """The rejected files that may hold rows of D: those rejected on or after D (a file cannot
    hold rows loaded after it was read)."""
    return [(path, reason) for path, reason, when in rejected if when >= _midnight(day)]


def data_checks(warehouse: Warehouse, day: date, thresholds: PublicationThresholds) -> list[CheckResult]:
    """Volume, freshness and quarantine share per contract table, and rejected files, for D."""
    return data_checks_for_days(warehouse, day, day, thresholds)[day]


def data_checks_for_days(
    warehouse: Warehouse, first: date, last: date, thresholds: PublicationThresholds
) -> dict[date, list[CheckResult]]:
    """`data_checks` for every day of [first, last], reading each table once."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    results: dict[date, list[CheckResult]] = {day: [] for day in days}
    with warehouse.session() as session:
        ingest_ready = _table_exists(session, settings.ingest_schema(), LEDGER_TABLE) and _table_exists(
            session, settings.ingest_schema(), QUARANTINE_TABLE
        )
        quarantined = quarantined_per_day(session, first, last) if ingest_ready else {d: Counter() for d in days}
        rejected = rejected_files(session) if ingest_ready else []
        for table in TABLES:
            loads = read_table_loads(session, table, first, last, thresholds)
            for day in days:
                results[day] += _table_checks(loads, day, quarantined[day][table], thresholds)
        for day in days:
            missing = CheckResult("rejected_files", False, f"{settings.ingest_schema()}.{LEDGER_TABLE} does not exist")
            results[day].append(rejected_files_check(rejected_files_for(rejected, day)) if ingest_ready else missing)
    return results


def _table_checks(
    loads: TableLoads, day: date, quarantined: int, thresholds: PublicationThresholds
) -> list[CheckResult]:
    table = loads.table
    if not loads.exists:
        missing = f"{settings.raw_schema()}.{table} does not exist"
        return [CheckResult(f"{kind}.{table}", False, missing) for kind in ("volume", "freshness", "quarantine")]
    history = loads.history(day, thresholds.volume_window_days)
    median = float(np.median(history)) if len(history) >= thresholds.min_history_days else None
    return [
        volume_check(table, loads.rows_on(day), history, thresholds),
        freshness_check(table, day, loads.last_loaded_up_to(day), median, thresholds),
        quarantine_check(table, loads.rows_on(day), quarantined, thresholds),
    ]
