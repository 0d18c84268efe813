"""Landing files: `<landing>/<table>/<batch_id>.parquet` (+ `<batch_id>_dirty.csv`).

A batch holds the rows of one table generated for one account chunk whose `_loaded_at`
falls in one ISO week: batch id `2026w05_c000` (ISO year and week, then chunk), so ids sort
by time and are unique per file.

Re-run policy: files are immutable, so the writer refuses to start (LandingNotEmptyError)
if the landing folder already holds any file. Two simulated worlds must never mix in one
landing folder (their account ids would collide), and a fresh id scheme per run would do
exactly that. To simulate again, point at an empty folder or delete the old one. (The ground
truth describes whatever world is in the landing folder, so it is replaced, not refused.)
Files are written under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ml.contract import TABLE_NAMES
from ml.simulate.encoding import Encoder
from ml.simulate.frames import Frame, n_rows, take
from ml.simulate.timing import iso_week_keys, week_label

log = logging.getLogger(__name__)


class LandingNotEmptyError(FileExistsError):
    """The target folder already holds files from an earlier run."""


def refuse_if_not_empty(folder: Path) -> None:
    """Raise unless `folder` is missing or holds no files (empty sub-folders are fine)."""
    if folder.exists() and any(p.is_file() for p in folder.rglob("*")):
        raise LandingNotEmptyError(
            f"{folder} already contains files. Landing files are immutable and two simulated "
            "worlds must not mix: use an empty folder or delete this one first."
        )


def write_file(path: Path, write: Callable[[Path], object], overwrite: bool = False) -> None:
    """Write via a hidden temporary file, then rename; refuse to replace a file unless asked."""
    if path.exists() and not overwrite:
        raise LandingNotEmptyError(f"{path} exists; landing files are never overwritten")
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _week_slices(loaded_us: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(ISO week key, row positions sorted by `_loaded_at`) per week present."""
    order = np.argsort(loaded_us, kind="stable")
    keys = iso_week_keys(loaded_us[order])
    cuts = np.flatnonzero(np.diff(keys)) + 1
    return [(int(keys[part[0]]), order[part]) for part in np.split(np.arange(len(order)), cuts) if len(part)]


@dataclass
class LandingWriter:
    """Writes a chunk's rows of a table as weekly batches and counts what it wrote."""

    landing_dir: Path
    encoder: Encoder
    chunk_width: int = 3
    rows: Counter = field(default_factory=Counter)
    malformed_rows: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)

    def prepare(self) -> None:
        """Refuse a used landing folder, then create one folder per contract table."""
        refuse_if_not_empty(self.landing_dir)
        for table in TABLE_NAMES:
            (self.landing_dir / table).mkdir(parents=True, exist_ok=True)

    def batch_id(self, week_key: int, chunk: int) -> str:
        return f"{week_label(week_key)}_c{chunk:0{self.chunk_width}d}"

    def write(self, table: str, chunk: int, frame: Frame) -> None:
        """Clean rows (incl. duplicates) as typed Parquet, one file per week."""
        if n_rows(frame) == 0:
            return
        for week, rows in _week_slices(frame["_loaded_at"]):
            arrow = self.encoder.table(table, take(frame, rows))
            path = self.landing_dir / table / f"{self.batch_id(week, chunk)}.parquet"
            write_file(path, lambda p, t=arrow: pq.write_table(t, p, compression="zstd"))
            self.rows[table] += arrow.num_rows
            self.files[table] += 1

    def write_malformed(self, table: str, chunk: int, text: pa.Table, loaded_us: np.ndarray) -> None:
        """Malformed rows (all columns as text) as CSV with a header, one file per week."""
        if text.num_rows == 0:
            return
        for week, rows in _week_slices(loaded_us):
            part = text.take(pa.array(rows))
            path = self.landing_dir / table / f"{self.batch_id(week, chunk)}_dirty.csv"
            write_file(path, lambda p, t=part: pa_csv.write_csv(t, p))
            self.malformed_rows[table] += part.num_rows
            self.files[table] += 1
