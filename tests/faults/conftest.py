"""Fixtures of the fault-injection suite: the small simulation ingested once, and publication
worlds (tests/faults/world.py) built once per session and copied for each test."""

import shutil
from datetime import timedelta

import pytest

from ml.score import reasons
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.dbt.conftest import ingested_duckdb  # noqa: F401  (the small simulation, ingested)
from tests.faults.world import DAY, VOCABULARY, build_world, days_between, publish, score_days

FIRST_DAY = DAY - timedelta(days=40)
LAST_DAY = DAY + timedelta(days=1)
WEEK_BEFORE = days_between(DAY - timedelta(days=7), DAY - timedelta(days=1))


@pytest.fixture(scope="session")
def _empty_world(ingested_duckdb, tmp_path_factory):  # noqa: F811
    return build_world(ingested_duckdb, tmp_path_factory.mktemp("world") / "empty.duckdb", FIRST_DAY, LAST_DAY)


@pytest.fixture(scope="session")
def _published_world(_empty_world, tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "published.duckdb"
    shutil.copy(_empty_world.path, path)
    warehouse = DuckDBWarehouse(path)
    score_days(warehouse, WEEK_BEFORE, "run-before")
    assert {o.status for o in publish(warehouse, WEEK_BEFORE, "run-before")} == {"applied"}
    return warehouse


@pytest.fixture
def world(_empty_world, tmp_path):
    """Raw data of the small simulation plus feature days FIRST_DAY .. LAST_DAY, nothing scored."""
    shutil.copy(_empty_world.path, tmp_path / "warehouse.duckdb")
    return DuckDBWarehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def published_world(_published_world, tmp_path):
    """`world` after the week before DAY was scored (2% block, 5% review) and published."""
    shutil.copy(_published_world.path, tmp_path / "warehouse.duckdb")
    return DuckDBWarehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def world_vocabulary(monkeypatch):
    """Scoring explains the world's tiny champion with the world's own reasons."""
    monkeypatch.setattr(reasons, "VOCABULARY", VOCABULARY)
