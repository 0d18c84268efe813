"""Restated performance in MLflow, against the model version that produced the scores.

One run per model version in the experiment `<experiment>-monitoring` (the training experiment
stays a list of trainings), named `restated performance v<version>`; every graded day adds one
point per metric at `step` = the as-of day as yyyymmdd (20260715), so MLflow's charts read as a
time series. The points are also linked to the version's logged model (MLflow 3 `model_id`), and
the version carries the run's id in its tag `monitoring.restated_run_id`.
"""

from __future__ import annotations

import time
from datetime import date

from ml.gate import EVALUATION_RUN_TAG
from ml.monitor.performance import HEADLINE, Restated
from ml.registry import ModelRegistry

MONITORING_SUFFIX = "-monitoring"
VERSION_TAG = "monitoring.model_version"
RUN_TAG = "monitoring.restated_run_id"


def day_step(day: date) -> int:
    """2026-07-15 -> 20260715: increasing with the day and readable on a chart's axis."""
    return day.year * 10_000 + day.month * 100 + day.day


def evaluation_run_id(registry: ModelRegistry, version: str) -> str:
    """The run whose evaluation the gate passed for `version` (its own training run)."""
    model_version = registry.client.get_model_version(registry.model_name, version)
    return dict(model_version.tags).get(EVALUATION_RUN_TAG) or model_version.run_id


def gate_evaluation(registry: ModelRegistry, version: str) -> dict[str, float]:
    """The challenger's test-block metrics the gate judged `version` on (`test.challenger.*`)."""
    metrics = registry.client.get_run(evaluation_run_id(registry, version)).data.metrics
    return {m: metrics[f"test.challenger.{m}"] for m in HEADLINE if f"test.challenger.{m}" in metrics}


def review_capacity(registry: ModelRegistry, version: str) -> int:
    """The daily review capacity of `version`'s decision policy (logged with its training run)."""
    run_id = registry.client.get_model_version(registry.model_name, version).run_id
    params = registry.client.get_run(run_id).data.params
    if "policy_review_capacity_per_day" not in params:
        raise LookupError(f"v{version}'s run {run_id} has no policy_review_capacity_per_day parameter")
    return int(float(params["policy_review_capacity_per_day"]))


def _monitoring_experiment(registry: ModelRegistry) -> str:
    name = registry.experiment + MONITORING_SUFFIX
    found = registry.client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = (registry.artifact_root / "monitoring").resolve().as_uri() if registry.artifact_root else None
    return registry.client.create_experiment(name, artifact_location=location)


def restated_run(registry: ModelRegistry, version: str) -> str:
    """The monitoring run of `version` (created on its first graded day)."""
    experiment = _monitoring_experiment(registry)
    found = registry.client.search_runs(
        [experiment], filter_string=f"tags.`{VERSION_TAG}` = '{version}'", max_results=1
    )
    if found:
        return found[0].info.run_id
    run = registry.client.create_run(
        experiment,
        run_name=f"restated performance v{version}",
        tags={
            VERSION_TAG: version,
            "monitoring.model_name": registry.model_name,
            "monitoring.evaluation_run_id": evaluation_run_id(registry, version),
        },
    )
    registry.client.set_model_version_tag(registry.model_name, version, RUN_TAG, run.info.run_id)
    return run.info.run_id


def log_restated(registry: ModelRegistry, restated: Restated) -> str:
    """One point per metric of a graded day in the version's monitoring run; returns the run id.
    A day graded again (labels corrected, re-published) adds a later point at the same step."""
    if restated.first_day != restated.last_day:
        raise ValueError("log one graded day at a time (step = the as-of day)")
    from mlflow.entities import Metric  # on use: Dagster's definitions load without it

    run_id = restated_run(registry, restated.model_version)
    model_id = registry.client.get_model_version(registry.model_name, restated.model_version).model_id
    now, step = int(time.time() * 1000), day_step(restated.first_day)
    counts = {"restated.rows": float(restated.rows), "restated.bad_rows": float(restated.bad_rows)}
    metrics = [
        Metric(key, value, now, step, model_id=model_id) for key, value in {**restated.flat_metrics(), **counts}.items()
    ]
    registry.client.log_batch(run_id, metrics=metrics)
    return run_id
