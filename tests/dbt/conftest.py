import atexit
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ml.ingest.load import ingest_landing
from ml.warehouse.duckdb_engine import DuckDBWarehouse

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture(scope="session")
def ingested_duckdb(small_simulation, tmp_path_factory) -> Path:
    """The small simulated landing folder ingested into a fresh DuckDB file."""
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    ingest_landing(DuckDBWarehouse(path), small_simulation["landing"], run_id="test", now=datetime(2027, 1, 1))
    return path


@pytest.fixture(scope="session")
def full_build_duckdb(ingested_duckdb, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, dict[str, str]]:
    """The small simulation built once from scratch with `dbt build` (every model, the feature
    mart for every day with activity, every test): (warehouse, the dbt process, statuses)."""
    tmp = tmp_path_factory.mktemp("dbt")
    path = tmp / "warehouse.duckdb"
    shutil.copy(ingested_duckdb, path)
    done = run_dbt(["build"], tmp, {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"})
    return path, done, run_results(tmp) if (tmp / "target" / "run_results.json").exists() else {}


@pytest.fixture
def full_build_copy(full_build_duckdb, tmp_path) -> Path:
    """A writable copy of the full build's warehouse, for a test that changes it."""
    full, done, _ = full_build_duckdb
    assert done.returncode == 0, done.stdout[-5000:]
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(full, path)
    return path


def run_dbt(args: list[str], tmp_path: Path, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run the dbt CLI the way an analyst does, with artefacts kept out of dbt_project/target.

    A subprocess, not dbtRunner: dbt-duckdb keeps its connection open for the life of the
    process, which would lock the DuckDB file against the test's own reads. `timeout` (seconds)
    bounds a hung run: against fakesnow, a failed statement can make the connector retry for
    minutes. The command starts from the session's last saved parse (_shared_parse).
    """
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [
        str(dbt),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    with _shared_parse(tmp_path / "target", env) as env:
        return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


@functools.cache
def _shared_dir() -> Path:
    """The session's saved parses and warehouse link, made on first use and removed at exit."""
    shared = Path(tempfile.mkdtemp(prefix="vigil-dbt-tests-"))
    atexit.register(shutil.rmtree, shared, ignore_errors=True)
    return shared


@contextlib.contextmanager
def _shared_parse(target: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Hand the command the last parse saved in this session, and keep the one it saves.

    Each test has its own target folder, so each dbt command parsed the whole project (~5 s).
    dbt reuses a saved parse only for the same profile, whose DuckDB path differs per test: the
    command opens the test's warehouse through a fixed link of the same file name instead, so
    the profile is the same. DuckDB resolves the link: the catalog and the write-ahead log are
    the file's own. dbt still checks the saved parse (files, vars, env vars) and re-parses what
    changed."""
    saved = target / "partial_parse.msgpack"
    kept = _shared_dir() / f"{env.get('VIGIL_DBT_TARGET', 'local')}.msgpack"
    if kept.exists() and not saved.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(kept, saved)
    warehouse = env.get("VIGIL_DUCKDB_PATH")
    if warehouse:
        # The same name: DuckDB names the catalog after the file, and dbt after the path.
        link = _shared_dir() / Path(warehouse).name
        link.unlink(missing_ok=True)
        link.symlink_to(Path(warehouse).resolve())
        env = {**env, "VIGIL_DUCKDB_PATH": str(link)}
    try:
        yield env
    finally:
        if saved.exists():
            shutil.copy(saved, kept)


def failing_rows(warehouse: Path, tmp_path: Path, prefix: str) -> list[tuple]:
    """What the last invocation's test `prefix` (its unique id's start) found: its compiled
    query run again (a `column_values` test: the column, the rule, how many)."""
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    (sql,) = [r["compiled_code"] for r in results if r["unique_id"].startswith(prefix)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def run_results(tmp_path: Path) -> dict[str, str]:
    """unique_id -> status from the last dbt invocation's run_results.json."""
    data = json.loads((tmp_path / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}
