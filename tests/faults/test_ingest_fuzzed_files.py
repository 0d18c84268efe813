"""10k fuzzed, malformed rows per table: each is loaded or quarantined, and raw meets the contract.

Hypothesis draws, per example and per table, one landing file's shape: CSV, Parquet with text
columns or typed Parquet; upper-case headers, a UTF-8 BOM, values with UTC offsets (or zoned
Parquet timestamps), extra columns named like validation's internals, and a fault rate. Rows are
generated in bulk from a drawn seed, each with the faults it was given (null, unparseable,
unknown enum, negative amount, event after its load, loaded in the future, infinite or out-of-range
time) or none, so the test knows each row's fate and, for valid rows, their exact typed values.
Some examples add files whose headers collide after case folding; those must be rejected whole.

Asserted for every file: rows loaded + rows quarantined == rows written, each row exactly once,
valid rows in raw with exactly their intended values, faulty rows quarantined; and every row in
raw meets the contract, checked here independently of the validator.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.contract import TABLE_NAMES, TABLES, Column, Table
from ml.ingest.load import ingest_landing
from ml.ingest.options import IngestOptions
from ml.warehouse.duckdb_engine import DuckDBWarehouse

NOW = datetime(2026, 10, 1)
SKEW = timedelta(hours=1)
ROWS_PER_FILE = 860
EXAMPLES = 12  # 12 x 860 = 10,320 rows per table
MIN_ROWS_PER_TABLE = 10_000
FORMATS = ("csv", "parquet_text", "parquet_typed")
OFFSETS = (timedelta(0), timedelta(hours=2), -timedelta(hours=5, minutes=30), timedelta(hours=5, minutes=45))
ZONES = ("UTC", "Europe/Paris", "Asia/Kolkata", "America/Los_Angeles")
# Tricky but legal text: delimiters, quotes, a newline inside, non-ASCII.
ALPHABET = "abcxyz0189_-.:,;'\"/ é\n🙂"
UNPARSEABLE = {
    "timestamp": (
        "not a time",
        "2026-13-45 10:00:00",
        "2026-02-30 10:00:00",
        "10:00",
        "infinity",
        "-infinity",
        "99999-01-01 00:00:00",
    ),
    "boolean": ("maybe", "2", "on"),
    "amount": ("12,50", "$5", "5 usd", "1.2.3"),
}
TRUE_TEXT, FALSE_TEXT = ("true", "TRUE", "t", "1", "yes"), ("false", "False", "f", "0", "no")
# Extra input columns named like validation's internals (old and new), holding junk.
SHADOW_PREFIXES = ("t_", "x_", "in_", "v_", "s_", "p_")
SHADOW_NAMES = ("_reason", "reasons", "_source_row", "_source_file", "file_row_number", "row_no", "record_json")

STATS: dict[str, Counter] = defaultdict(Counter)


@dataclass(frozen=True)
class FileSpec:
    fmt: str
    upper: bool
    bom: bool
    offsets: bool
    shadows: bool
    fault_rate: float
    seed: int


FILE_SPECS = st.builds(
    FileSpec,
    fmt=st.sampled_from(FORMATS),
    upper=st.booleans(),
    bom=st.booleans(),
    offsets=st.booleans(),
    shadows=st.booleans(),
    fault_rate=st.sampled_from([0.0, 0.02, 0.2, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)


@dataclass
class GeneratedFile:
    table: str
    rows: int
    expected_valid: dict[int, dict]  # 1-based row -> typed values
    collides: bool = False


def _token(rng: random.Random) -> str:
    edges = rng.choices("abcXYZ019", k=2)
    return edges[0] + "".join(rng.choices(ALPHABET, k=rng.randint(0, 8))) + edges[1]


def _instant(rng: random.Random, start: datetime, span: timedelta) -> datetime:
    return start + timedelta(microseconds=rng.randrange(int(span / timedelta(microseconds=1))))


def _faults(table: Table, rng: random.Random, typed: bool) -> dict[str, str]:
    """Up to two faults on distinct columns: column -> kind."""
    options = []
    for col in table.columns:
        if not col.nullable:
            options.append((col.name, "null"))
        if col.type in UNPARSEABLE and not typed:
            options.append((col.name, "unparseable"))
        if col.allowed:
            options.append((col.name, "unknown"))
        if col.type == "amount":
            options.append((col.name, "negative"))
        if col.type == "timestamp":
            options.append((col.name, "future" if col.name == "_loaded_at" else "after_loaded"))
    chosen: dict[str, str] = {}
    for name, kind in rng.sample(options, rng.randint(1, 2)):
        chosen.setdefault(name, kind)
    return chosen


def _row(table: Table, rng: random.Random, spec: FileSpec) -> tuple[dict, dict | None]:
    """(values as written, expected typed values or None if the row must be quarantined)."""
    typed_file = spec.fmt == "parquet_typed"
    faults = _faults(table, rng, typed_file) if rng.random() < spec.fault_rate else {}
    loaded = _instant(rng, datetime(2026, 1, 8), timedelta(days=260))
    if faults.get("_loaded_at") == "future":
        loaded = NOW + SKEW + timedelta(seconds=rng.randint(1, 30 * 86400))
    event = loaded - (_instant(rng, datetime(2000, 1, 1), timedelta(days=7)) - datetime(2000, 1, 1))
    if rng.random() < 0.05:  # within the loader's clock skew: still valid
        event = loaded + timedelta(minutes=rng.randint(0, 59))
    expected: dict = {}
    for col in table.columns:
        if col.type == "timestamp":
            if col.name == "_loaded_at":
                value = loaded
            elif col.name == table.event_time:
                value = event
            else:
                value = None if rng.random() < 0.3 else min(event, loaded) + (loaded - min(event, loaded)) / 2
            if faults.get(col.name) == "after_loaded":
                value = loaded + SKEW + timedelta(minutes=rng.randint(1, 5000))
        elif col.type == "boolean":
            value = rng.random() < 0.5
        elif col.type == "amount":
            value = Decimal(rng.randint(0, 10_000_000)) / 100
        elif col.allowed:
            value = rng.choice(col.allowed)
        else:
            value = None if col.nullable and rng.random() < 0.3 else _token(rng)
        expected[col.name] = value
    written = {c.name: _write_value(c, expected[c.name], faults.get(c.name), rng, spec) for c in table.columns}
    return written, (None if faults else expected)


def _write_value(col: Column, value, fault: str | None, rng: random.Random, spec: FileSpec):
    typed_file = spec.fmt == "parquet_typed"
    if fault == "null":
        if typed_file and col.type != "string":
            return None
        return None if spec.fmt != "csv" and rng.random() < 0.7 else rng.choice(["", "   "])
    if fault == "unparseable":
        return rng.choice(UNPARSEABLE[col.type])
    if fault == "unknown":
        value = "bogus_" + _token(rng)
    if fault == "negative":
        value = -(value + Decimal("0.01"))
    if value is None:
        return None if spec.fmt != "csv" else ""
    if typed_file:
        return value
    if col.type == "timestamp":
        if spec.offsets and rng.random() < 0.7:
            offset = rng.choice(OFFSETS)
            local = (value + offset).isoformat(sep=rng.choice(" T"))
            if offset == timedelta(0) and rng.random() < 0.5:
                return local + "Z"
            sign = "-" if offset < timedelta(0) else "+"
            minutes = abs(int(offset.total_seconds())) // 60
            return f"{local}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        return value.isoformat(sep=" ")
    if col.type == "boolean":
        return rng.choice(TRUE_TEXT if value else FALSE_TEXT)
    if col.type == "amount":
        return f"{value:.2f}" if rng.random() < 0.8 else f"{value.normalize():f}"
    return value if rng.random() < 0.9 else f"  {value} "  # padding is trimmed: still valid


def _arrow_column(col: Column, values: list, spec: FileSpec, rng: random.Random) -> pa.Array:
    if spec.fmt != "parquet_typed" or col.type == "string":
        return pa.array(values, pa.string())
    if col.type == "timestamp":
        utc = pa.array(values, pa.timestamp("us"))
        if spec.offsets:
            return utc.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=rng.choice(ZONES)))
        return utc
    if col.type == "amount":
        return pa.array(values, pa.decimal128(12, 2))
    return pa.array(values, pa.bool_())


def _shadow_columns(table: Table, rng: random.Random) -> dict[str, str]:
    shadows = dict.fromkeys(SHADOW_NAMES, "")
    for prefix in SHADOW_PREFIXES:
        for i, col in enumerate(table.columns):
            shadows[f"{prefix}{col.name}"] = "x"
            shadows[f"{prefix}{i}"] = "x"
    return shadows


def _write_file(folder: Path, table: Table, spec: FileSpec) -> tuple[str, GeneratedFile]:
    rng = random.Random(spec.seed)
    rows, expected_valid = [], {}
    for i in range(1, ROWS_PER_FILE + 1):
        written, expected = _row(table, rng, spec)
        rows.append(written)
        if expected is not None:
            expected_valid[i] = expected
    names = [c.upper() if spec.upper else c for c in table.column_names]
    extras = _shadow_columns(table, rng) if spec.shadows else {}
    suffix = "csv" if spec.fmt == "csv" else "parquet"
    name = f"{spec.fmt}_{spec.seed}.{suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    if spec.fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=rng.choice(["\n", "\r\n"]))
        writer.writerow(names + list(extras))
        for r in rows:
            writer.writerow([r[c] for c in table.column_names] + list(extras.values()))
        (folder / name).write_bytes(("\ufeff" if spec.bom else "").encode() + buffer.getvalue().encode())
    else:
        columns = {
            n: _arrow_column(c, [r[c.name] for r in rows], spec, rng) for n, c in zip(names, table.columns, strict=True)
        }
        columns |= {n: pa.array([v] * len(rows), pa.string()) for n, v in extras.items()}
        pq.write_table(pa.table(columns), folder / name)
    return f"{table.name}/{name}", GeneratedFile(table.name, len(rows), expected_valid)


def _write_colliding_file(folder: Path, table: Table, seed: int) -> tuple[str, GeneratedFile]:
    """Valid rows under a header that names a column twice once case is folded."""
    rng = random.Random(seed)
    names = table.column_names + ([table.column_names[0].upper()] if seed % 2 else ["note", "NOTE"])
    extra = len(names) - len(table.column_names)
    spec = FileSpec("csv", False, False, False, False, 0.0, seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for _ in range(20):
        written, _ = _row(table, rng, spec)
        writer.writerow([written[c] for c in table.column_names] + ["x"] * extra)
    name = f"collides_{seed}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(buffer.getvalue())
    return f"{table.name}/{name}", GeneratedFile(table.name, 20, {}, collides=True)


def _violations(table: Table, row: dict) -> list[str]:
    """The contract, checked independently of the validator."""
    problems = []
    kinds = {"string": str, "timestamp": datetime, "boolean": bool, "amount": Decimal}
    for col in table.columns:
        value = row[col.name]
        if value is None:
            if not col.nullable:
                problems.append(f"null {col.name}")
            continue
        if not isinstance(value, kinds[col.type]):
            problems.append(f"{col.name} is {type(value).__name__}")
        elif col.allowed and value not in col.allowed:
            problems.append(f"{col.name} not allowed: {value}")
        elif col.type == "amount" and (value < 0 or value != value.quantize(Decimal("0.01"))):
            problems.append(f"{col.name} = {value}")
        elif col.type == "string" and value != value.strip(" "):
            problems.append(f"{col.name} untrimmed")
        elif col.type == "timestamp" and col.name != "_loaded_at" and row["_loaded_at"] is not None:
            if value > row["_loaded_at"] + SKEW:
                problems.append(f"{col.name} after _loaded_at")
    if row["_loaded_at"] is not None and row["_loaded_at"] > NOW + SKEW:
        problems.append("_loaded_at in the future")
    return problems


def _check_landing(wh: DuckDBWarehouse, files: dict[str, GeneratedFile]) -> None:
    with wh.session() as s:
        ledger = {r["file_path"]: r for r in s.fetch_arrow("select * from ingest.file_ledger").to_pylist()}
        quarantine = defaultdict(list)
        for r in s.fetch_arrow(
            "select source_file, source_row, reason, record_json from ingest.quarantine"
        ).to_pylist():
            quarantine[r["source_file"]].append(r)
        raw = defaultdict(list)
        for name in TABLE_NAMES:
            for r in s.fetch_arrow(f"select * exclude (_ingested_at) from raw.{name}").to_pylist():
                raw[r["_source_file"]].append(r)
    assert set(ledger) == set(files)
    for path, f in files.items():
        entry, loaded, bad = ledger[path], raw.get(path, []), quarantine.get(path, [])
        stats = STATS[f.table]
        if f.collides:
            assert entry["status"] == "rejected"
            assert "duplicate column name(s) (compared case-insensitively)" in entry["reason"]
            assert (loaded, bad) == ([], [])
            stats["files_rejected"] += 1
            continue
        assert entry["status"] == "loaded", entry["reason"]
        # The identity, per file, in the ledger and in the tables, each row exactly once.
        assert entry["rows_in_file"] == f.rows
        assert entry["rows_loaded"] + entry["rows_quarantined"] == f.rows
        assert (len(loaded), len(bad)) == (entry["rows_loaded"], entry["rows_quarantined"])
        assert sorted([r["_source_row"] for r in loaded] + [q["source_row"] for q in bad]) == list(range(1, f.rows + 1))
        # Each row's fate and, for valid rows, its exact values.
        assert {r["_source_row"] for r in loaded} == set(f.expected_valid)
        table = TABLES[f.table]
        for r in loaded:
            assert {c: r[c] for c in table.column_names} == f.expected_valid[r["_source_row"]], (path, r)
            assert _violations(table, r) == [], (path, r)
        assert all(q["reason"] and json.loads(q["record_json"]) for q in bad)
        stats["files_loaded"] += 1
        stats["rows_in_loaded_files"] += f.rows
        stats["rows_loaded"] += len(loaded)
        stats["rows_quarantined"] += len(bad)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    specs=st.tuples(*[FILE_SPECS] * len(TABLE_NAMES)),
    collisions=st.lists(st.tuples(st.sampled_from(TABLE_NAMES), st.integers(0, 2**16)), max_size=3),
)
def _fuzz_one_landing_folder(specs: tuple[FileSpec, ...], collisions: list[tuple[str, int]]) -> None:
    with TemporaryDirectory(prefix="vigil_fuzz_") as tmp:
        landing = Path(tmp) / "landing"
        files = dict(
            _write_file(landing / name, TABLES[name], spec) for name, spec in zip(TABLE_NAMES, specs, strict=True)
        )
        files |= dict(_write_colliding_file(landing / name, TABLES[name], seed) for name, seed in collisions)
        wh = DuckDBWarehouse(Path(tmp) / "wh.duckdb")

        report = ingest_landing(wh, landing, run_id="fuzz", now=NOW, options=IngestOptions(settle_seconds=0))

        assert not report.deferred
        _check_landing(wh, files)


def test_10k_fuzzed_rows_per_table_are_each_loaded_or_quarantined_and_raw_meets_the_contract():
    STATS.clear()

    _fuzz_one_landing_folder()

    for name in TABLE_NAMES:
        assert STATS[name]["rows_in_loaded_files"] >= MIN_ROWS_PER_TABLE, (name, dict(STATS[name]))
        assert 0 < STATS[name]["rows_quarantined"] < STATS[name]["rows_in_loaded_files"]
