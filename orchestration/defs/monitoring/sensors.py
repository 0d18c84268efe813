"""The sensor that grades published days as their labels become final."""

import dagster as dg

from ml.monitor.performance import gradable_days
from ml.warehouse import Role
from orchestration.defs.jobs import restate_job
from orchestration.defs.monitoring.assets import RESTATED_KEY
from orchestration.lib.resources import WarehouseResource

MAX_DAYS_PER_TICK = 31


@dg.sensor(
    job=restate_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Asks for every published day whose labels became final and that was not graded yet.",
)
def matured_days_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    try:
        days = gradable_days(warehouse.get(role=Role.SCORER, read_only=True))
    except Exception as error:  # the warehouse is busy (a DuckDB writer) or not built yet: next tick
        return dg.SkipReason(f"cannot read the warehouse yet: {type(error).__name__}: {str(error)[:300]}")
    graded = context.instance.get_materialized_partitions(RESTATED_KEY)
    wanted = [(day, run) for day, run in days if str(day) not in graded][:MAX_DAYS_PER_TICK]
    if not wanted:
        return dg.SkipReason(f"{len(days)} published days with final labels, all graded")
    return [dg.RunRequest(partition_key=str(day), run_key=f"{day}:{run}") for day, run in wanted]
