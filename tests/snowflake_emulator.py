"""The Snowflake path under test: a fakesnow server on loopback, shared by the whole session.

- `fakesnow_connection` starts one in-process fakesnow server (DuckDB behind Snowflake's HTTP
  API) on a free port and yields snowflake-connector keyword arguments.
- `snowflake_warehouse()` opens Vigil's `SnowflakeWarehouse` on it; `dbt_snowflake_env()` is
  the environment for a dbt subprocess using the `snowflake` target.
- `ingested_snowflake` is the small simulation (its last weekly batches) ingested once.

Use a database name of your own per test module: the server keeps every database in one
in-memory DuckDB for the whole session.

Registered in tests/conftest.py (`pytest_plugins`); see README.md, "Snowflake and the
fakesnow emulator", for what fakesnow cannot do.
"""

from __future__ import annotations

import importlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

# Bind the function now: calling fakesnow.server() imports the fakesnow.server submodule, which
# replaces the package attribute `server`, so a second `fakesnow.server()` would fail with
# "'module' object is not callable".
from fakesnow import server as fakesnow_server
from fakesnow.instance import FakeSnow

from ml import settings
from ml.ingest.load import IngestReport, ingest_landing
from ml.warehouse.snowflake_engine import SnowflakeWarehouse

# Ingesting the whole small simulation through fakesnow takes ~80 s (409 files, each a few
# round trips), so Snowflake tests ingest only its last weekly batches, from every table.
SIMULATION_BATCHES_FROM = "2026w10"
INGEST_NOW = datetime(2027, 1, 1)


def _keep_null_timestamps(to_struct: Any) -> Any:
    """Fix fakesnow 0.12: it sends timestamps as (epoch, fraction) structs without their null
    mask, so a NULL timestamp reads back as 1970-01-01 00:00:00. Restore the mask."""

    def wrapped(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        struct = to_struct(ts)
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        if ts.null_count == 0:
            return struct
        return pa.StructArray.from_arrays(
            [struct.field(i) for i in range(struct.type.num_fields)],
            fields=list(struct.type),
            mask=ts.is_null(),
        )

    return wrapped


@pytest.fixture(scope="session")
def fakesnow_connection() -> Iterator[dict[str, Any]]:
    """A fakesnow server on a free loopback port; yields snowflake.connector.connect kwargs."""
    arrow = importlib.import_module("fakesnow.arrow")
    server_module = importlib.import_module("fakesnow.server")
    # The server's in-memory DuckDB is module state: start every session from an empty one.
    server_module.shared_fs = FakeSnow()
    with pytest.MonkeyPatch.context() as patch:
        fixed = _keep_null_timestamps(arrow.timestamp_to_sf_struct)
        patch.setattr(arrow, "timestamp_to_sf_struct", fixed)
        with fakesnow_server(port=None, host="127.0.0.1") as kwargs:
            # uvicorn configures its loggers at startup; silence the per-request access log.
            logging.getLogger("uvicorn.access").disabled = True
            # fakesnow sets network_timeout=1, which stops the connector retrying a failed
            # request for minutes; long statements still run to completion.
            yield kwargs


def snowflake_warehouse(connection: dict[str, Any], database: str) -> SnowflakeWarehouse:
    """Vigil's Snowflake engine on the emulator; the database is created on first connect.

    The session gets a current schema (PUBLIC, created by fakesnow) only because fakesnow
    refuses `COPY INTO ... FROM (SELECT ... FROM @stage)` without one, even though Vigil
    qualifies every name; Snowflake needs none.
    """
    return SnowflakeWarehouse(connection_kwargs={**connection, "database": database, "schema": "PUBLIC"})


def dbt_snowflake_env(connection: dict[str, Any], database: str) -> dict[str, str]:
    """Environment for a dbt subprocess using the `snowflake` target of dbt_project/profiles.yml.

    Every SNOWFLAKE_* variable the profile reads is set, so a developer's own credentials in
    the shell (a role, a private key) never reach the emulator.
    """
    return {
        "VIGIL_DBT_TARGET": "snowflake",
        "VIGIL_RAW_SCHEMA": settings.raw_schema(),
        "VIGIL_INGEST_SCHEMA": settings.ingest_schema(),
        "SNOWFLAKE_ACCOUNT": connection["account"],
        "SNOWFLAKE_USER": connection["user"],
        "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": connection["password"],
        "SNOWFLAKE_PRIVATE_KEY_PATH": "",
        "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "",
        "SNOWFLAKE_ROLE": "",
        "SNOWFLAKE_TRANSFORMER_ROLE": "VIGIL_TRANSFORMER",  # fakesnow accepts any role
        "SNOWFLAKE_WAREHOUSE": "",
        "SNOWFLAKE_DATABASE": database,
        "SNOWFLAKE_SCHEMA": "public",
        "SNOWFLAKE_THREADS": "4",
        "SNOWFLAKE_HOST": connection["host"],
        "SNOWFLAKE_PORT": str(connection["port"]),
        "SNOWFLAKE_PROTOCOL": connection["protocol"],
    }


@dataclass(frozen=True)
class IngestedSnowflake:
    fakesnow_connection: dict[str, Any]
    warehouse: SnowflakeWarehouse
    database: str
    landing: Path
    report: IngestReport


@pytest.fixture(scope="session")
def simulated_landing_subset(small_simulation, tmp_path_factory) -> Path:
    """The small simulation's batches from SIMULATION_BATCHES_FROM on, as a landing folder."""
    landing = tmp_path_factory.mktemp("sf_landing")
    for path in sorted(small_simulation["landing"].glob("*/*")):
        if path.name >= SIMULATION_BATCHES_FROM:
            (landing / path.parent.name).mkdir(exist_ok=True)
            shutil.copy2(path, landing / path.parent.name / path.name)
    return landing


@pytest.fixture(scope="session")
def ingested_snowflake(fakesnow_connection, simulated_landing_subset) -> IngestedSnowflake:
    """The simulated landing subset ingested into its own emulator database, once."""
    database = "VIGIL_SIMULATED"
    warehouse = snowflake_warehouse(fakesnow_connection, database)
    report = ingest_landing(warehouse, simulated_landing_subset, run_id="test", now=INGEST_NOW)
    return IngestedSnowflake(fakesnow_connection, warehouse, database, simulated_landing_subset, report)
