"""Fixtures of the fault-injection suite: the small simulation ingested once, and a fresh
publication world (tests/faults/world.py) per test."""

from datetime import timedelta

import pytest

from tests.dbt.conftest import ingested_duckdb  # noqa: F401  (the small simulation, ingested)
from tests.faults.world import DAY, build_world

FIRST_DAY = DAY - timedelta(days=40)
LAST_DAY = DAY + timedelta(days=1)


@pytest.fixture
def world(ingested_duckdb, tmp_path):  # noqa: F811
    """Raw data of the small simulation plus feature days FIRST_DAY .. LAST_DAY, nothing scored."""
    return build_world(ingested_duckdb, tmp_path / "warehouse.duckdb", FIRST_DAY, LAST_DAY)
