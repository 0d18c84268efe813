import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

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
    minutes.
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
    return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def run_results(tmp_path: Path) -> dict[str, str]:
    """unique_id -> status from the last dbt invocation's run_results.json."""
    data = json.loads((tmp_path / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}
