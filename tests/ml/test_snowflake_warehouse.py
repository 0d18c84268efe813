"""Vigil's Snowflake engine against the fakesnow emulator: bulk loads, fetches, ingestion."""

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.ingest.load import ingest_landing
from ml.warehouse import snowflake_engine
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.snowflake_emulator import INGEST_NOW, snowflake_warehouse

pytestmark = pytest.mark.snowflake

DATABASE = "VIGIL_ENGINE"
NOW = datetime(2026, 2, 1)
TRICKY_TEXT = 'Toys, "vintage"\nand {"json": "too"}'

VALUES = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "note": pa.array([TRICKY_TEXT, "", None, "plain"], pa.string()),
        "happened_at": pa.array(
            [
                datetime(2026, 1, 5, 13, 2, 11, 123456),
                None,
                datetime(1999, 12, 31, 23, 59, 59, 999999),
                datetime(2026, 1, 1),
            ],
            pa.timestamp("us"),
        ),
        "amount": pa.array(
            [Decimal("1234.56"), Decimal("-0.01"), None, Decimal("9999999999.99")],
            pa.decimal128(12, 2),
        ),
        "flag": pa.array([True, False, None, True]),
    }
)
VALUES_DDL = "(id number(38, 0), note varchar, happened_at timestamp_ntz, amount number(12, 2), flag boolean)"


@pytest.fixture(scope="module")
def warehouse(fakesnow_connection):
    wh = snowflake_warehouse(fakesnow_connection, DATABASE)
    with wh.session() as s:
        s.execute("create schema if not exists engine")
    return wh


def _fresh_table(warehouse, name: str) -> str:
    with warehouse.session() as s:
        s.execute(f"create or replace table engine.{name} {VALUES_DDL}")
    return name


def _rows(warehouse, sql: str) -> list[dict]:
    with warehouse.session() as s:
        return s.fetch_arrow(sql).to_pylist()


def test_append_arrow_round_trips_text_nulls_microseconds_and_decimals_exactly(warehouse):
    table = _fresh_table(warehouse, "round_trip")
    with warehouse.session() as s:
        s.append_arrow("engine", table, VALUES)

    assert _rows(warehouse, f"select * from engine.{table} order by id") == VALUES.to_pylist()
    # Checked in SQL too, independently of how results travel back to the client.
    assert _rows(
        warehouse,
        f"select count_if(note is null) as null_notes, count_if(note = '') as empty_notes,"
        f" count_if(happened_at is null) as null_times from engine.{table}",
    ) == [{"null_notes": 1, "empty_notes": 1, "null_times": 1}]


def test_append_arrow_loads_a_large_table_as_several_files(warehouse, monkeypatch):
    table = _fresh_table(warehouse, "batched")
    written = []
    write = snowflake_engine._write_parquet
    monkeypatch.setattr(snowflake_engine, "MAX_ROWS_PER_FILE", 3)
    monkeypatch.setattr(
        snowflake_engine,
        "_write_parquet",
        lambda data, path: (written.append(data.num_rows), write(data, path)),
    )
    data = pa.concat_tables([VALUES] * 3).set_column(0, "id", pa.array(range(12), pa.int64()))

    with warehouse.session() as s:
        s.append_arrow("engine", table, data)

    assert written == [3, 3, 3, 3]
    assert _rows(warehouse, f"select * from engine.{table} order by id") == data.to_pylist()


def test_a_short_load_raises_and_rolls_back_with_its_transaction(warehouse, monkeypatch):
    table = _fresh_table(warehouse, "short_load")
    write = snowflake_engine._write_parquet
    monkeypatch.setattr(snowflake_engine, "_write_parquet", lambda data, path: write(data.slice(1), path))

    with warehouse.session() as s, pytest.raises(RuntimeError, match="loaded 3 of 4 rows"):
        with s.transaction():
            s.append_arrow("engine", table, VALUES)

    assert _rows(warehouse, f"select count(*) as n from engine.{table}") == [{"n": 0}]


def test_fetch_arrow_types_an_empty_result_like_a_full_one(warehouse):
    table = _fresh_table(warehouse, "typed")
    with warehouse.session() as s:
        s.append_arrow("engine", table, VALUES)
        full = s.fetch_arrow(f"select * from engine.{table}")
        empty = s.fetch_arrow(f"select * from engine.{table} where id < 0")

    assert empty.num_rows == 0
    assert empty.schema == full.schema
    assert full.schema.field("amount").type == pa.decimal128(12, 2)
    assert full.schema.field("happened_at").type == pa.timestamp("us")


def _write_landing_csv(landing: Path, table: str, *rows: str) -> None:
    path = landing / table / "2026w02.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(TABLES[table].column_names)
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture(scope="module")
def tricky_landing(tmp_path_factory) -> Path:
    """Hand-made batches whose values are easy to get wrong on the way into Snowflake."""
    landing = tmp_path_factory.mktemp("tricky_landing")
    _write_landing_csv(
        landing,
        "livestreams",
        's1,a1,2026-01-05 13:02:11.123456,,"Toys, ""vintage""\nand more",2026-01-05 14:00:00.5',
        's2,a1,2026-01-06 10:00:00,2026-01-06 11:30:00.5,"{""k"": ""v""}",2026-01-06 12:00:00',
        's3,a2,not a time,,"x, ""y""",2026-01-06 12:00:00',
    )
    _write_landing_csv(
        landing,
        "bids",
        "b1,s1,l1,a3,2026-01-05 13:05:00.000001,1234.56,2026-01-05 14:00:00",
        "b2,s1,l1,a4,2026-01-05 13:06:00,0.10,2026-01-05 14:00:00",
        "b3,s1,l1,a4,2026-01-05 13:07:00,-5.00,2026-01-05 14:00:00",
    )
    return landing


@pytest.fixture(scope="module")
def tricky_ingested(tricky_landing, tmp_path_factory, fakesnow_connection):
    """The same landing folder ingested into DuckDB and into the emulator."""
    duck = DuckDBWarehouse(tmp_path_factory.mktemp("tricky_duckdb") / "wh.duckdb")
    snow = snowflake_warehouse(fakesnow_connection, "VIGIL_TRICKY")
    ingest_landing(duck, tricky_landing, run_id="r1", now=NOW)
    report = ingest_landing(snow, tricky_landing, run_id="r1", now=NOW)
    return duck, snow, report


def test_ingested_values_are_exactly_the_landing_values(tricky_ingested):
    _, snow, report = tricky_ingested

    assert (report.rows_loaded, report.rows_quarantined) == (4, 2)
    assert _rows(snow, "select stream_id, started_at, ended_at, category from raw.livestreams order by 1") == [
        {
            "stream_id": "s1",
            "started_at": datetime(2026, 1, 5, 13, 2, 11, 123456),
            "ended_at": None,
            "category": 'Toys, "vintage"\nand more',
        },
        {
            "stream_id": "s2",
            "started_at": datetime(2026, 1, 6, 10),
            "ended_at": datetime(2026, 1, 6, 11, 30, 0, 500000),
            "category": '{"k": "v"}',
        },
    ]
    assert _rows(snow, "select bid_id, amount_usd from raw.bids order by 1") == [
        {"bid_id": "b1", "amount_usd": Decimal("1234.56")},
        {"bid_id": "b2", "amount_usd": Decimal("0.10")},
    ]


@pytest.mark.parametrize(
    "table",
    ["raw.livestreams", "raw.bids", "ingest.quarantine", "ingest.file_ledger"],
)
def test_snowflake_holds_exactly_what_duckdb_holds_after_the_same_ingestion(tricky_ingested, table):
    duck, snow, _ = tricky_ingested
    sql = f"select * from {table} order by 1, 2, 3"

    assert _rows(snow, sql) == _rows(duck, sql)


def _rows_in_landing_files(landing: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        for path in sorted(landing.glob("*/*")):
            reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
            (n,) = con.execute(f"select count(*) from {reader}(?)", [str(path)]).fetchone()
            counts[path.parent.name] = counts.get(path.parent.name, 0) + n
    return counts


def test_every_simulated_row_is_loaded_or_quarantined(ingested_snowflake):
    # Only this ingestion's files: other tests ingest late files into the same database.
    report, wh, run = ingested_snowflake.report, ingested_snowflake.warehouse, "'test'"
    in_files = _rows_in_landing_files(ingested_snowflake.landing)
    loaded = {
        r["table_name"]: r
        for r in _rows(
            wh,
            "select table_name, sum(rows_in_file) as rows_in_file, sum(rows_loaded) as rows_loaded,"
            f" sum(rows_quarantined) as rows_quarantined from ingest.file_ledger where run_id = {run} group by 1",
        )
    }
    quarantined = {
        r["table_name"]: r["n"]
        for r in _rows(wh, f"select table_name, count(*) as n from ingest.quarantine where run_id = {run} group by 1")
    }
    of_the_run = f"_source_file in (select file_path from ingest.file_ledger where run_id = {run})"

    assert not report.rejected
    assert set(in_files) == set(TABLES)
    for table, n in in_files.items():
        (raw,) = _rows(wh, f"select count(*) as n from raw.{table} where {of_the_run}")
        assert report.table_summary(table)["rows_in_files"] == n
        assert loaded[table]["rows_in_file"] == n
        assert raw["n"] + quarantined.get(table, 0) == n
        assert raw["n"] == loaded[table]["rows_loaded"]
    assert sum(quarantined.values()) == report.rows_quarantined > 0


def test_reingesting_the_simulated_landing_loads_nothing_twice(ingested_snowflake):
    wh = ingested_snowflake.warehouse
    before = _rows(wh, "select count(*) as n from raw.bids")

    again = ingest_landing(wh, ingested_snowflake.landing, run_id="again", now=INGEST_NOW)

    assert (again.rows_loaded, again.rows_quarantined) == (0, 0)
    assert again.files_already_ingested == len(ingested_snowflake.report.outcomes)
    assert _rows(wh, "select count(*) as n from raw.bids") == before


@pytest.fixture(scope="module")
def hostile_landing(tmp_path_factory) -> Path:
    """Upper-case headers with a BOM, UTC offsets, a zoned Parquet column, a glob-like name."""
    landing = tmp_path_factory.mktemp("hostile_landing")
    (landing / "bids").mkdir()
    header = ",".join(c.upper() for c in TABLES["bids"].column_names)
    (landing / "bids" / "b[1].csv").write_bytes(
        b"\xef\xbb\xbf"
        + (
            f"{header},_REASON\n"
            "b1,s1,l1,a3,2026-01-05T13:05:00+02:00,12.50,2026-01-05T12:00:00Z,\n"
            "b2,s1,l1,a4,2026-01-05 13:06:00,-1.00,2026-01-05 14:00:00,\n"
        ).encode()
    )
    (landing / "logins").mkdir()
    pq.write_table(
        pa.table(
            {
                "event_id": ["e1"],
                "account_id": ["a1"],
                "occurred_at": pa.array([datetime(2026, 1, 5, 8)], pa.timestamp("us", tz="UTC")).cast(
                    pa.timestamp("us", tz="Asia/Kolkata")
                ),
                "ip_hash": ["i1"],
                "ip_country": ["IN"],
                "device_id": ["d1"],
                "success": [True],
                "_loaded_at": pa.array([datetime(2026, 1, 5, 8, 1)], pa.timestamp("us")),
            }
        ),
        landing / "logins" / "*.parquet",
    )
    return landing


def test_hostile_files_ingest_through_snowflake_exactly_as_through_duckdb(
    hostile_landing, tmp_path, fakesnow_connection
):
    duck = DuckDBWarehouse(tmp_path / "wh.duckdb")
    snow = snowflake_warehouse(fakesnow_connection, "VIGIL_HOSTILE")
    ingest_landing(duck, hostile_landing, run_id="r1", now=NOW)
    report = ingest_landing(snow, hostile_landing, run_id="r1", now=NOW)
    again = ingest_landing(snow, hostile_landing, run_id="r2", now=NOW)

    assert (report.rows_loaded, report.rows_quarantined, report.rejected) == (2, 1, [])
    assert (again.outcomes, again.files_already_ingested) == ([], 2)
    assert _rows(snow, "select bid_id, occurred_at, _loaded_at from raw.bids") == [
        {"bid_id": "b1", "occurred_at": datetime(2026, 1, 5, 11, 5), "_loaded_at": datetime(2026, 1, 5, 12)}
    ]
    assert _rows(snow, "select occurred_at from raw.logins") == [{"occurred_at": datetime(2026, 1, 5, 8)}]
    for table in ("raw.bids", "raw.logins", "ingest.quarantine", "ingest.file_ledger"):
        sql = f"select * from {table} order by 1, 2, 3"
        assert _rows(snow, sql) == _rows(duck, sql), table
    assert _rows(snow, "select file_path, outcome from ingest.file_attempts order by 1") == [
        {"file_path": "bids/b[1].csv", "outcome": "loaded"},
        {"file_path": "logins/*.parquet", "outcome": "loaded"},
    ]


def test_a_ledger_from_before_content_hashes_is_extended_on_snowflake(fakesnow_connection, tricky_landing):
    snow = snowflake_warehouse(fakesnow_connection, "VIGIL_OLD_LEDGER")
    with snow.session() as s:
        s.execute("create schema if not exists ingest")
        s.execute(
            "create table ingest.file_ledger (file_path varchar, table_name varchar, file_bytes number(38, 0),"
            " status varchar, rows_in_file number(38, 0), rows_loaded number(38, 0), rows_quarantined number(38, 0),"
            " reason varchar, ingested_at timestamp_ntz, run_id varchar)"
        )

    report = ingest_landing(snow, tricky_landing, run_id="r1", now=NOW)

    assert (report.rows_loaded, report.rows_quarantined) == (4, 2)
    assert _rows(snow, "select count(*) as n from ingest.file_ledger where file_sha256 is not null") == [{"n": 2}]
