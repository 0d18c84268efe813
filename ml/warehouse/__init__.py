"""Engine-neutral access to the warehouse: DuckDB file locally, Snowflake in production."""

from ml.warehouse.base import Role, Warehouse, WarehouseSession, create_table_sql, ensure_schema, sql_type
from ml.warehouse.factory import warehouse_from_env

__all__ = [
    "Role",
    "Warehouse",
    "WarehouseSession",
    "create_table_sql",
    "ensure_schema",
    "sql_type",
    "warehouse_from_env",
]
