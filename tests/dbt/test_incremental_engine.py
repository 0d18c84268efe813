"""Incrementality: the staging, intermediate and tile models built over several runs, with late,
out-of-order and re-emitted rows arriving between them, equal one full build over the same raw
data; so does the feature mart built from them.

The small simulation's landing files arrive in three ingestions (by ISO week of `_loaded_at`),
with a dbt run after each. Some files of week 4 are held back to the last ingestion: their rows
land on days whose tiles were built two runs earlier (late rows re-open them), and the re-sent
copies of those rows, already staged from week 5, now have an earlier first load (rows move to
an earlier day). Orders are re-emitted with new statuses across runs as they ship and cancel.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ml.ingest.load import ingest_landing
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.dbt.conftest import failing_rows, run_dbt

HELD_BACK_WEEK = "2026w04"
HELD_BACK_TABLES = ("logins", "orders", "bids", "livestreams", "payment_methods")
STEP_ENDS = ("2026w05", "2026w09", "2026w99")
MODELS = ["build", "--exclude", "fct_account_features_daily", "fct_account_labels_daily"]
MODELS += ["--resource-type", "model", "--resource-type", "seed"]
MART_DAYS = ("2026-03-01", "2026-03-31")
# Columns that say when a row was processed, not what it holds: they differ by construction.
PROCESSING_COLUMNS = {"ingested_at", "_ingested_through"}
# The change log and the data tests' marks (macros/tested_rows.sql) record runs, not state.
RUN_RECORDS = {"int_account_changes", "dbt_test_marks"}


def _steps(landing: Path) -> list[list[Path]]:
    files = sorted(p for p in landing.glob("*/*") if p.is_file())
    held = [p for p in files if p.name.startswith(HELD_BACK_WEEK) and p.parent.name in HELD_BACK_TABLES]
    steps, start = [], ""
    for end in STEP_ENDS:
        steps.append([p for p in files if start < p.name[:7] <= end and p not in held])
        start = end
    steps[-1] += held
    return steps


def _mart(path: Path, tmp: Path) -> None:
    days = f"{{min_date: '{MART_DAYS[0]}', max_date: '{MART_DAYS[1]}'}}"
    done = run_dbt(
        ["run", "--select", "fct_account_features_daily", "--vars", days],
        tmp,
        {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"},
    )
    assert done.returncode == 0, done.stdout[-5000:]


@pytest.fixture(scope="module")
def incremental(small_simulation, tmp_path_factory) -> Path:
    """The warehouse built by one dbt run after each of three ingestions."""
    tmp = tmp_path_factory.mktemp("incremental")
    path, landing = tmp / "warehouse.duckdb", tmp / "landing"
    for step, files in enumerate(_steps(small_simulation["landing"]), start=1):
        for file in files:
            (landing / file.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(file, landing / file.parent.name / file.name)
        ingest_landing(DuckDBWarehouse(path), landing, run_id=f"step{step}", now=datetime(2027, 1, step))
        done = run_dbt(MODELS, tmp, {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"})
        assert done.returncode == 0, done.stdout[-5000:]
    _mart(path, tmp)
    return path


@pytest.fixture(scope="module")
def both(incremental, full_build_duckdb):
    full, done, _ = full_build_duckdb
    assert done.returncode == 0, done.stdout[-5000:]
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as incremental (read_only)")
    con.execute(f"attach '{full}' as full_build (read_only)")
    yield con
    con.close()


def _tables(con) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = 'full_build'"
        " and table_schema in ('staging', 'intermediate') and table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()


def _differing_rows(con, schema: str, table: str, where: str = "") -> tuple[int, int]:
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'full_build'"
            " and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        if name not in PROCESSING_COLUMNS
    ]
    selected = ", ".join(f'"{c}"' for c in columns)
    a = f"select {selected} from incremental.{schema}.{table} {where}"
    b = f"select {selected} from full_build.{schema}.{table} {where}"
    return (
        con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0],
        con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0],
    )


def test_every_staging_intermediate_and_tile_model_built_in_runs_equals_a_full_build(both):
    tables = [(s, t) for s, t in _tables(both) if t not in RUN_RECORDS]
    assert len(tables) >= 30
    differing = {f"{s}.{t}": d for s, t in tables if (d := _differing_rows(both, s, t)) != (0, 0)}
    assert differing == {}


def test_the_feature_mart_built_on_incremental_tiles_equals_the_full_build(both):
    where = f"where as_of_date between '{MART_DAYS[0]}' and '{MART_DAYS[1]}'"
    rows = both.execute(f"select count(*) from incremental.marts.fct_account_features_daily {where}").fetchone()[0]
    assert rows > 10_000
    assert _differing_rows(both, "marts", "fct_account_features_daily", where) == (0, 0)


def test_the_last_run_reopened_days_built_two_runs_earlier(both):
    """The held-back files are real late arrivals: the last run re-opened the tiles of their days."""
    last_run = "(select max(_ingested_through) from incremental.intermediate.int_account_changes)"
    reopened_early = both.execute(
        "select count(*) from incremental.intermediate.int_account_changes"
        f" where _ingested_through = {last_run} and changed_from < '2026-01-26'"
    ).fetchone()[0]
    # Orders re-emitted in week 5 (staged in the first run) whose first version only came now:
    # their first load, hence their day, moved earlier.
    moved_earlier = both.execute(
        "select count(*) from ("
        "  select order_id from incremental.raw.orders group by order_id"
        "  having arg_min(_ingested_at, _loaded_at) > min(_ingested_at)"
        ")"
    ).fetchone()[0]
    assert reopened_early > 50
    assert moved_earlier > 0


def test_a_resent_event_that_changes_after_staging_fails_the_build_until_a_full_refresh(incremental, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(incremental, path)
    env = {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"}
    with duckdb.connect(str(path)) as con:
        # A copy of a staged login, re-sent later under another account.
        con.execute(
            "insert into raw.logins select event_id, 'acc_999999', occurred_at, ip_hash, ip_country, device_id,"
            " success, _loaded_at + interval 3 day, 'late/resend.csv', 1, timestamp '2027-02-01'"
            " from raw.logins order by event_id limit 1"
        )
    staging = ["build", "--select", "stg_marketplace__logins"]

    refused = run_dbt(staging, tmp_path, env)
    assert refused.returncode != 0 and "column_values_stg_marketplace__logins" in refused.stdout
    found = failing_rows(path, tmp_path, "test.vigil.column_values_stg_marketplace__logins_")
    rebuilt = run_dbt([*staging, "--full-refresh"], tmp_path, env)

    assert found == [("is_changed_by_resend", "not an accepted value", 1)]
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
