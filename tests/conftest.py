"""Shared fixtures: a small simulated landing folder and an isolated data folder per test."""

import os
from datetime import date
from pathlib import Path

import pytest


def pytest_configure(config):
    # Tests write landing files and ingest them at once; the settle interval (which defers
    # files modified moments ago) is exercised explicitly by the tests that set it.
    os.environ.setdefault("VIGIL_INGEST_SETTLE_SECONDS", "0")


# Small enough that the whole suite stays fast, big enough that every pattern shows up.
SMALL = {"n_accounts": 2_000, "start_date": date(2026, 1, 1), "end_date": date(2026, 3, 31), "seed": 11}


@pytest.fixture(scope="session")
def small_simulation(tmp_path_factory) -> dict[str, Path]:
    """A dirty simulated landing folder (+ ground truth), generated once per test session."""
    from ml.simulate import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(**SMALL), root / "landing", root / "ground_truth")
    return {"landing": root / "landing", "ground_truth": root / "ground_truth"}


@pytest.fixture
def vigil_env(tmp_path, monkeypatch) -> Path:
    """Point every Vigil setting at a fresh data folder under tmp_path."""
    data = tmp_path / "data"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    for var in ("VIGIL_LANDING_DIR", "VIGIL_DUCKDB_PATH", "VIGIL_WAREHOUSE", "VIGIL_DBT_TARGET"):
        monkeypatch.delenv(var, raising=False)
    return data


# The fakesnow (Snowflake emulator) fixtures, for tests marked `snowflake`, a throwaway
# PostgreSQL server (the product database of the reverse-ETL tests), and the whole-pipeline run
# shared by tests/orchestration and tests/browser.
pytest_plugins = ["tests.snowflake_emulator", "tests.postgres_server", "tests.pipeline"]
