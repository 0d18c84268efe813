"""Replay a simulated marketplace into a landing folder as it happens (`make live`,
`make bench-live`).

`hold_back` splits a simulated landing tree at a moment: the rows loaded before it are the
warehouse's history (the daily pipeline ingests them), the rows loaded from it on wait in a
queue. `replay` then drops the queue into the landing folder at a fixed rate of events per
second, as small Parquet files every few seconds, in the order the rows were loaded. Each file
is written hidden and renamed into place (ingestion skips hidden files), so a file is never seen
half-written, and each is logged with the wall-clock moment it landed: the start of every
latency the benchmark measures.

The simulated clock runs as fast as the rate makes it (a busier replay covers more simulated
time per second); rows keep their simulated timestamps.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LOADED_AT = "_loaded_at"


@dataclass(frozen=True)
class ReplayedFile:
    path: str  # relative to the landing folder, as the ingest ledger names it
    table: str
    rows: int
    landed_at: datetime  # naive UTC wall clock, when it was renamed into place
    loaded_from: datetime  # the simulated `_loaded_at` of its first and last rows
    loaded_to: datetime


def hold_back(source: Path, landing: Path, queue: Path, cut: datetime) -> dict[str, int]:
    """Copy `source` (a simulated landing tree) into `landing` without the rows loaded at or after
    `cut`, and write those to `queue/<table>.parquet`, sorted by `_loaded_at`. Malformed-row CSVs
    go to `landing` whole (ingestion quarantines them). Returns the rows queued per table."""
    queued: dict[str, list[pa.Table]] = {}
    for path in sorted(source.glob("*/*")):
        target = landing / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".parquet":
            shutil.copy2(path, target)
            continue
        table = pq.read_table(path)
        late = pc.greater_equal(table[LOADED_AT], pa.scalar(cut, table.schema.field(LOADED_AT).type))
        before, after = table.filter(pc.invert(late)), table.filter(late)
        if before.num_rows:
            pq.write_table(before, target)
        if after.num_rows:
            queued.setdefault(path.parent.name, []).append(after)
    queue.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, parts in queued.items():
        rows = pa.concat_tables(parts).sort_by(LOADED_AT)
        pq.write_table(rows, queue / f"{name}.parquet")
        counts[name] = rows.num_rows
    return counts


def _schedule(queue: Path) -> tuple[dict[str, pa.Table], np.ndarray, np.ndarray]:
    """Every queued row in load order: (tables, table index per row, row index in its table)."""
    tables = {path.stem: pq.read_table(path) for path in sorted(queue.glob("*.parquet"))}
    names = list(tables)
    loaded = np.concatenate([tables[n][LOADED_AT].to_numpy().astype("datetime64[us]") for n in names])
    which = np.concatenate([np.full(tables[n].num_rows, i) for i, n in enumerate(names)])
    index = np.concatenate([np.arange(tables[n].num_rows) for n in names])
    order = np.argsort(loaded, kind="stable")
    return tables, which[order], index[order]


def replay(
    queue: Path,
    landing: Path,
    rate: float,
    every: float = 2.0,
    seconds: float | None = None,
    prefix: str = "live",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ReplayedFile]:
    """Drop the queued rows into `landing` at `rate` rows per second, `every` seconds one file
    per table with rows in that slice, for `seconds` (None: until the queue is empty). Yields
    each file as it lands. File names sort after the simulator's (`<prefix><tick>_<table>`)."""
    if rate <= 0 or every <= 0:
        raise ValueError("rate and every must be positive")
    tables, which, index = _schedule(queue)
    names = list(tables)
    per_tick = max(1, int(round(rate * every)))
    start, position, tick = clock(), 0, 0
    while position < len(which) and (seconds is None or tick * every < seconds):
        due = start + tick * every
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        chunk = slice(position, position + per_tick)
        for table_no in np.unique(which[chunk]):
            name = names[table_no]
            rows = tables[name].take(pa.array(index[chunk][which[chunk] == table_no]))
            yield _land(landing, name, f"{prefix}{tick:07d}_{name}.parquet", rows)
        position, tick = position + per_tick, tick + 1


def _land(landing: Path, table: str, name: str, rows: pa.Table) -> ReplayedFile:
    folder = landing / table
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}"
    pq.write_table(rows, hidden)
    os.replace(hidden, folder / name)  # appears whole
    loaded = rows[LOADED_AT]
    return ReplayedFile(
        path=f"{table}/{name}",
        table=table,
        rows=rows.num_rows,
        landed_at=datetime.now(UTC).replace(tzinfo=None),
        loaded_from=pc.min(loaded).as_py(),
        loaded_to=pc.max(loaded).as_py(),
    )
