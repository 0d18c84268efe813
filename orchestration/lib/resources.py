"""Dagster resources: thin wrappers that hand plain `ml` objects to assets."""

from __future__ import annotations

import dagster as dg

from ml import settings
from ml.registry import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME, ModelRegistry
from ml.warehouse import Role, Warehouse
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from ml.warehouse.snowflake_engine import SnowflakeWarehouse

# Assets that write to the warehouse share this pool. A DuckDB file takes one writing process
# at a time, so the local instance limits the pool to 1 (dagster.yaml); Snowflake can raise it.
WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """Which warehouse to use. Snowflake credentials are read from SNOWFLAKE_* at connect time."""

    engine: str = "duckdb"
    duckdb_path: str = ""

    def get(self, *, role: Role, read_only: bool = False) -> Warehouse:
        """The warehouse as one component sees it: on Snowflake, sessions use `role`'s own
        Snowflake role (least privilege); a DuckDB file has no roles."""
        if self.engine == "snowflake":
            return SnowflakeWarehouse(role=role)
        from pathlib import Path

        return DuckDBWarehouse(Path(self.duckdb_path), read_only=read_only)

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt subprocesses so dbt opens the same warehouse, with the same memory
        cap and threads, as Python does."""
        if self.engine != "duckdb":
            return {}
        return {
            "VIGIL_DUCKDB_PATH": self.duckdb_path,
            "VIGIL_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit(),
            "VIGIL_DUCKDB_THREADS": str(settings.duckdb_threads()),
        }


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking + registry. Empty `tracking_uri`: MLFLOW_TRACKING_URI if set, else the
    local store (SQLite file + artifact folder) under VIGIL_DATA_DIR/mlflow. A URI with
    credentials belongs in the environment (or `dg.EnvVar`), never in run config."""

    tracking_uri: str = ""
    experiment: str = DEFAULT_EXPERIMENT
    model_name: str = DEFAULT_MODEL_NAME

    def registry(self) -> ModelRegistry:
        names = {"experiment": self.experiment, "model_name": self.model_name}
        if self.tracking_uri:
            return ModelRegistry(self.tracking_uri, None, **names)
        return ModelRegistry.from_env(settings.data_dir(), **names)
