"""Restated performance: each published day graded once its labels are final, logged to MLflow
against the model version that scored it, and checked against the gate's evaluation.

Thin adapter over `ml.monitor.performance` and `ml.monitor.tracking`. `matured_days_sensor`
(sensors.py) asks for every published day whose labels became final and that was not graded
yet (labels mature as the weekly `retrain` rebuilds them), so the series grows by itself.
"""

from datetime import date, timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from ml import settings
from ml.evaluate.report import load_ground_truth
from ml.monitor.performance import (
    NotGradableError,
    Restated,
    compare_with_evaluation,
    day_status,
    grade,
    graded_rows,
)
from ml.monitor.thresholds import MonitorThresholds
from ml.monitor.tracking import gate_evaluation, log_restated, review_capacity
from ml.warehouse import Role
from orchestration.defs.dbt.assets import LABELS_MODEL, vigil_dbt_labels
from orchestration.defs.dbt.partitions import feature_days
from orchestration.defs.scoring.assets import SYNC_KEY
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource

GROUP = "monitoring"
RESTATED_KEY = dg.AssetKey(["ml", "restated_performance"])
RESTATED_CHECK = "restated_performance_holds"


def _table(rows: dict[str, dict[str, float]]) -> str:
    keys = list(dict.fromkeys(k for metrics in rows.values() for k in metrics))
    lines = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, metrics in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{metrics.get(k, float('nan')):.4f}" for k in keys) + " |")
    return "\n".join(lines)


def _graded(wh, day: date, registry, ground_truth) -> Restated:
    status = day_status(wh, day)
    if not status.gradable:
        raise NotGradableError(status.problem)
    frame = graded_rows(wh, day, day)
    missing = int(frame["is_bad"].isna().sum())
    if missing:
        raise NotGradableError(
            f"{missing} scored accounts of {day} have no label row: the feature mart was rebuilt since scoring"
        )
    version = str(frame["model_version"].iloc[0])
    return grade(frame, review_capacity(registry, version), ground_truth)


def _window(wh, day: date, version: str, capacity: int, thresholds: MonitorThresholds, ground_truth):
    """The matured, published days of the same version in the window ending on `day`, pooled."""
    first = day - timedelta(days=thresholds.restated_window_days - 1)
    frame = graded_rows(wh, first, day)
    final_days = frame.groupby("as_of_date")["is_label_final"].transform(lambda s: s.notna().all() and s.all())
    frame = frame[final_days & (frame["model_version"] == version)]
    return grade(frame, capacity, ground_truth)


@dg.asset(
    key=RESTATED_KEY,
    group_name=GROUP,
    kinds={"python", "mlflow"},
    partitions_def=feature_days,
    pool=WAREHOUSE_POOL,  # reads the warehouse file, which a writer locks on DuckDB
    deps=[get_asset_key_for_model([vigil_dbt_labels], LABELS_MODEL), SYNC_KEY],
    check_specs=[
        dg.AssetCheckSpec(
            RESTATED_CHECK,
            asset=RESTATED_KEY,
            blocking=False,
            description="Matured performance of the published scores (pooled over the last matured days of the same"
            " version) vs the gate's evaluation of that version: warns when average precision or recall at"
            " capacity fell more than the set margin (relative) below it.",
        )
    ],
)
def restated_performance(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """The published scores of the as-of day, graded with their final labels: average precision,
    recall and precision at review capacity, per side of the market and per abuse type; logged
    to MLflow in the run of the version that produced them (step = the day)."""
    day = date.fromisoformat(context.partition_key)
    wh = warehouse.get(role=Role.SCORER, read_only=True)
    registry, thresholds = mlflow.registry(), MonitorThresholds()
    ground_truth = load_ground_truth(settings.ground_truth_dir())
    try:
        restated = _graded(wh, day, registry, ground_truth)
    except NotGradableError as error:
        raise dg.Failure(f"{day} cannot be graded: {error}") from error
    run_id = log_restated(registry, restated)
    evaluation = gate_evaluation(registry, restated.model_version)
    pooled = _window(wh, day, restated.model_version, restated.review_capacity, thresholds, ground_truth)
    comparison = compare_with_evaluation(pooled, evaluation, thresholds.restated_max_relative_drop)
    yield dg.MaterializeResult(
        metadata={
            "model_version": restated.model_version,
            "rows": restated.rows,
            "bad_rows": restated.bad_rows,
            "review_capacity": restated.review_capacity,
            **{name: float(value) for name, value in restated.metrics.items()},
            "by_side": dg.MetadataValue.md(_table(restated.by_side)),
            "recall_by_abuse_type": dg.MetadataValue.json(restated.recall_by_abuse_type),
            "mlflow_run_id": run_id,
            "mlflow_tracking_uri": registry.display_uri,
        }
    )
    rows = {
        f"{pooled.first_day}..{pooled.last_day} ({pooled.days} days)": pooled.metrics,
        "gate evaluation": evaluation,
    }
    yield dg.AssetCheckResult(
        check_name=RESTATED_CHECK,
        passed=comparison.passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "comparison": dg.MetadataValue.md("\n".join(f"- {line}" for line in comparison.lines)),
            "metrics": dg.MetadataValue.md(_table(rows)),
            "window_days": pooled.days,
            "max_relative_drop": thresholds.restated_max_relative_drop,
        },
    )
