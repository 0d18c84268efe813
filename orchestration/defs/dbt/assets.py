"""dbt models as Dagster assets; dbt tests appear as asset checks."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.dbt.translator import translator
from orchestration.lib.resources import WAREHOUSE_POOL, WarehouseResource


def dbt_build_args() -> list[str]:
    """The dbt command an unpartitioned materialization runs (selection comes from the context)."""
    return ["build"]


@dbt_assets(
    manifest=vigil_dbt_project.manifest_path,
    project=vigil_dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def vigil_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # dbt runs as a subprocess that inherits this environment: point it at our warehouse file.
    os.environ.update(warehouse.dbt_env())
    yield from dbt.cli(dbt_build_args(), context=context).stream()
