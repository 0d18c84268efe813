"""Read one landing file literally, with columns renamed by position.

- `snapshot` copies the file to a private path with a fixed name, hashing exactly the bytes
  it copies: what is validated is what the ledger's sha256 identifies, even if the producer
  rewrites the original meanwhile, and no reader ever sees the original name.
- `open_input` parses through an open file handle (pyarrow), so a name like `y[1].csv` or
  `*.csv` is that one file, never a glob pattern.
- Every input column is renamed `in_<position>` and a row number `row_no` is added before any
  SQL sees the data, so no input column can collide with a name validation uses.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

SUPPORTED_SUFFIXES = (".parquet", ".csv")
ROW_NUMBER = "row_no"  # 1-based data row (the CSV header is not a row)
BATCH_ROWS = 65_536
_COPY_CHUNK = 1 << 20


class UnreadableFileError(ValueError):
    """The file cannot be read as a table (corrupt, truncated, wrong format, bad header)."""


class FileTooLargeError(UnreadableFileError):
    """The file is over the configured size cap."""


def input_column(position: int) -> str:
    """The name an input column gets inside validation, whatever the file calls it."""
    return f"in_{position}"


@dataclass(frozen=True)
class Snapshot:
    path: Path  # the private copy
    sha256: str
    size: int


def too_large_reason(size: int, max_bytes: int) -> str:
    return (
        f"file is {size:,} bytes, over the {max_bytes:,}-byte cap (VIGIL_INGEST_MAX_FILE_BYTES); "
        "split it into smaller batch files"
    )


def snapshot(source: Path, dest: Path, max_bytes: int) -> Snapshot:
    """Copy `source` to `dest`, hashing what is copied; stop past `max_bytes` bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(dest, "wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLargeError(too_large_reason(size, max_bytes))
            digest.update(chunk)
            out.write(chunk)
    return Snapshot(dest, digest.hexdigest(), size)


@dataclass
class InputFile:
    """A parsed file: its own column names and a one-pass stream of renamed batches."""

    names: tuple[str, ...]  # as the file spells them (a CSV's UTF-8 BOM removed)
    types: tuple[pa.DataType, ...]
    _batches: Iterator[pa.RecordBatch]
    rows_read: int = field(default=0)  # data rows the parser produced, counted as they stream

    @property
    def schema(self) -> pa.Schema:
        fields = [pa.field(input_column(i), t) for i, t in enumerate(self.types)]
        return pa.schema([*fields, pa.field(ROW_NUMBER, pa.int64())])

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._numbered())

    def _numbered(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            if batch.num_rows == 0:
                continue
            start = self.rows_read + 1
            self.rows_read += batch.num_rows
            numbers = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
            yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=self.schema)


def _check_csv_complete(handle) -> None:
    """A CSV must end with a line break. Without one its last row may have been cut mid-value by
    a truncated upload, which could turn `120.50` into a valid-looking `12`: refuse the file."""
    size = handle.seek(0, os.SEEK_END)
    if size:
        handle.seek(size - 1)
        if handle.read(1) not in (b"\n", b"\r"):
            raise UnreadableFileError(
                "incomplete CSV: the last row does not end with a line break (a truncated or unfinished upload?)"
            )
    handle.seek(0)


def _csv_header(path: Path) -> list[str]:
    """The header record, parsed on its own (quoted names may hold commas or newlines)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UnreadableFileError(f"unreadable CSV header: {exc}") from exc
    if not header:
        raise UnreadableFileError("empty CSV file: no header row")
    return header


def _csv_batches(handle, names: list[str]) -> Iterator[pa.RecordBatch]:
    """Every field as text (typing happens in validation, so a bad value is caught, not guessed).

    The header row is parsed as the first data row and checked against `names`, so the same
    parser reads the header and the rows."""
    columns = [input_column(i) for i in range(len(names))]
    reader = pa_csv.open_csv(
        handle,
        read_options=pa_csv.ReadOptions(column_names=columns),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string())),
    )
    first = True
    for batch in reader:
        if first and batch.num_rows:
            parsed = [batch.column(i)[0].as_py() for i in range(len(columns))]
            if parsed != names:
                raise UnreadableFileError(f"CSV header parsed inconsistently: {parsed!r} vs {names!r}")
            batch, first = batch.slice(1), False
        yield batch


@contextmanager
def open_input(path: Path) -> Iterator[InputFile]:
    """Open a CSV (header row required) or Parquet file by handle; raise if it is unreadable."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(f"unsupported file type {suffix!r} (expected .parquet or .csv)")
    with open(path, "rb") as handle:
        try:
            if suffix == ".csv":
                _check_csv_complete(handle)
                names = _csv_header(path)
                types = (pa.string(),) * len(names)
                batches = _csv_batches(handle, names)
            else:
                parquet = pq.ParquetFile(handle)
                schema = parquet.schema_arrow
                names, types = schema.names, tuple(schema.types)
                batches = (b for b in parquet.iter_batches(batch_size=BATCH_ROWS))
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(f"{type(exc).__name__}: {exc}") from exc
        yield InputFile(tuple(names), tuple(types), batches)
