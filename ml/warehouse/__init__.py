"""Engine-neutral access to the warehouse: DuckDB file locally, Snowflake in production."""

from ml.warehouse.base import Warehouse, WarehouseSession, sql_type
from ml.warehouse.factory import warehouse_from_env

__all__ = ["Warehouse", "WarehouseSession", "sql_type", "warehouse_from_env"]
