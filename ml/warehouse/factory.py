"""Pick the warehouse engine from VIGIL_WAREHOUSE."""

from __future__ import annotations

from ml import settings
from ml.warehouse.base import Role, Warehouse


def warehouse_from_env(*, role: Role, read_only: bool = False) -> Warehouse:
    """The configured warehouse, opened as `role` (Snowflake; a DuckDB file has no roles)."""
    if settings.warehouse_engine() == "snowflake":
        from ml.warehouse.snowflake_engine import SnowflakeWarehouse

        return SnowflakeWarehouse(role=role)
    from ml.warehouse.duckdb_engine import DuckDBWarehouse

    return DuckDBWarehouse(settings.duckdb_path(), read_only=read_only)
