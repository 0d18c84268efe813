"""Vigil's Dagster code location: assembles what lives under orchestration/defs/."""

import shutil
import sys
from pathlib import Path

import dagster as dg

from ml import settings
from orchestration.defs.dbt.assets import vigil_dbt_features_daily, vigil_dbt_labels, vigil_dbt_models
from orchestration.defs.dbt.invocation import VigilDbtCliResource
from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.ingestion.assets import (
    ingest_landing_files,
    no_rejected_landing_files,
    quarantine_share_is_low,
)
from orchestration.defs.jobs import (
    daily_job,
    daily_schedule,
    features_job,
    ingest_job,
    labels_job,
    near_real_time_job,
    restate_job,
    retrain_job,
    score_job,
    weekly_retrain,
)
from orchestration.defs.live.assets import intraday_scores
from orchestration.defs.live.sensors import landing_files_sensor
from orchestration.defs.ml.assets import champion_model, model_evaluation, risk_model, training_set
from orchestration.defs.monitoring.assets import restated_performance
from orchestration.defs.monitoring.sensors import matured_days_sensor
from orchestration.defs.scoring.assets import account_risk_scores, enforcement_sync
from orchestration.lib.resources import MlflowResource, WarehouseResource


def _dbt_executable() -> str:
    """The dbt installed in this environment, so `.venv/bin/dagster` works unactivated."""
    beside = Path(sys.prefix) / "bin" / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


defs = dg.Definitions(
    assets=[
        ingest_landing_files,
        vigil_dbt_models,
        vigil_dbt_features_daily,
        vigil_dbt_labels,
        training_set,
        risk_model,
        model_evaluation,
        champion_model,
        account_risk_scores,
        enforcement_sync,
        restated_performance,
        intraday_scores,
    ],
    asset_checks=[no_rejected_landing_files, quarantine_share_is_low],
    jobs=[ingest_job, features_job, labels_job, retrain_job, score_job, daily_job, restate_job, near_real_time_job],
    schedules=[daily_schedule, weekly_retrain],
    sensors=[matured_days_sensor, landing_files_sensor],
    resources={
        "mlflow": MlflowResource(),
        "warehouse": WarehouseResource(engine=settings.warehouse_engine(), duckdb_path=str(settings.duckdb_path())),
        "dbt": VigilDbtCliResource(project_dir=vigil_dbt_project, dbt_executable=_dbt_executable(), in_process=True),
    },
    # One process for all steps of a run: a DuckDB file takes a single writer at a time.
    executor=dg.in_process_executor,
)
