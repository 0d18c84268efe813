import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from ml.contract import TABLES

ROOT = Path(__file__).resolve().parents[2]


def _graph():
    from orchestration.definitions import defs

    return defs.resolve_asset_graph()


def _model_key(name: str) -> dg.AssetKey:
    from orchestration.defs.dbt.assets import vigil_dbt_models

    return get_asset_key_for_model([vigil_dbt_models], name)


def test_definitions_load_with_ingestion_dbt_models_and_checks():
    graph = _graph()
    keys = graph.get_all_asset_keys()
    assert {dg.AssetKey(["marketplace", t]) for t in TABLES} <= keys
    assert {_model_key(f"stg_marketplace__{t}") for t in TABLES} <= keys
    assert dg.AssetKey(["ingest", "quarantine"]) in keys
    check_names = {c.name for c in graph.asset_check_keys}
    assert "no_rejected_landing_files" in check_names
    assert any(name.startswith("column_values_stg_marketplace__orders") for name in check_names)


def test_staging_models_depend_on_the_ingested_raw_tables():
    graph = _graph()

    def parents(model: str) -> set[dg.AssetKey]:
        return set(graph.get(_model_key(model)).parent_keys)

    assert dg.AssetKey(["marketplace", "bids"]) in parents("stg_marketplace__bids")
    # Latest orders are built on the version history, which reads the raw table.
    assert dg.AssetKey(["marketplace", "orders"]) in parents("stg_marketplace__order_versions")
    assert _model_key("stg_marketplace__order_versions") in parents("stg_marketplace__orders")


def test_dbt_models_are_grouped_by_folder():
    graph = _graph()
    assert graph.get(_model_key("stg_marketplace__orders")).group_name == "staging"
    assert graph.get(dg.AssetKey(["marketplace", "orders"])).group_name == "ingestion"
    assert graph.get(dg.AssetKey(["reference", "disposable_email_domains"])).group_name == "reference"
    assert "default" not in {graph.get(k).group_name for k in graph.get_all_asset_keys()}


def test_warehouse_writers_share_one_pool():
    from orchestration.defs.dbt.assets import vigil_dbt_features_daily, vigil_dbt_labels, vigil_dbt_models
    from orchestration.defs.ingestion.assets import ingest_landing_files
    from orchestration.defs.ml.assets import training_set
    from orchestration.defs.scoring.assets import account_risk_scores, enforcement_sync
    from orchestration.lib.resources import WAREHOUSE_POOL

    for assets in (
        ingest_landing_files,
        vigil_dbt_models,
        vigil_dbt_features_daily,
        vigil_dbt_labels,
        training_set,
        account_risk_scores,
        enforcement_sync,
    ):
        assert assets.op.pool == WAREHOUSE_POOL


def test_features_are_partitioned_by_day_and_backfill_in_month_sized_runs():
    from orchestration.defs.dbt.assets import vigil_dbt_features_daily

    partitions = vigil_dbt_features_daily.partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert vigil_dbt_features_daily.backfill_policy.max_partitions_per_run == 31
    assert _model_key("fct_account_features_daily") in vigil_dbt_features_daily.keys


def test_backfill_days_per_run_come_from_the_environment_for_features_scores_and_sync():
    # Read when the definitions load, so a fresh interpreter: features, scores and sync backfill
    # in the same chunks.
    script = (
        "from orchestration.defs.dbt.assets import vigil_dbt_features_daily as f;"
        "from orchestration.defs.scoring.assets import account_risk_scores as s, enforcement_sync as e;"
        "print([a.backfill_policy.max_partitions_per_run for a in (f, s, e)])"
    )
    env = {**os.environ, "VIGIL_BACKFILL_DAYS_PER_RUN": "7"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[7, 7, 7]"


def test_a_partition_range_becomes_the_feature_builds_window_in_its_environment():
    from orchestration.defs.dbt.invocation import feature_days_env
    from orchestration.defs.dbt.project import DBT_PROJECT_DIR

    macro = (DBT_PROJECT_DIR / "macros" / "features.sql").read_text()
    env = feature_days_env("2026-03-01", "2026-03-31")
    assert env == {"VIGIL_FEATURES_MIN_DATE": "2026-03-01", "VIGIL_FEATURES_MAX_DATE": "2026-03-31"}
    assert all(f"env_var('{name}'" in macro for name in env)  # what the feature_date macro reads


def test_the_model_chain_ends_in_a_gated_champion_that_scoring_depends_on():
    graph = _graph()
    evaluation, champion = dg.AssetKey(["ml", "model_evaluation"]), dg.AssetKey(["ml", "champion_model"])
    assert dg.AssetKey(["ml", "risk_model"]) in graph.get(evaluation).parent_keys
    assert evaluation in graph.get(champion).parent_keys
    gate = next(k for k in graph.asset_check_keys if k.name == "promotion_gate")
    assert gate.asset_key == evaluation and graph.get_check_spec(gate).blocking
    scores = dg.AssetKey(["risk", "account_risk_scores"])
    assert champion in graph.get(scores).parent_keys
    assert _model_key("fct_account_features_daily") in graph.get(scores).parent_keys
    assert scores in graph.get(dg.AssetKey(["risk", "enforcement_sync"])).parent_keys


def test_daily_and_weekly_schedules_run_the_pipeline_jobs():
    from orchestration.definitions import defs

    daily, weekly = defs.resolve_schedule_def("daily_schedule"), defs.resolve_schedule_def("weekly_retrain")
    assert daily.job_name == "daily" and weekly.job_name == "retrain"
    assert weekly.cron_schedule == "0 5 * * 1"
    selected = {k.to_user_string() for k in defs.resolve_job_def("daily").asset_layer.selected_asset_keys}
    assert {"ingest/file_ledger", "marts/fct_account_features_daily", "risk/account_risk_scores"} <= selected
    assert "risk/enforcement_sync" in selected


def test_staging_and_intermediate_build_incrementally_unless_a_full_refresh_is_asked():
    from orchestration.defs.dbt.assets import models_build_args

    assert models_build_args() == ["build"]
    assert models_build_args(full_refresh=True) == ["build", "--full-refresh"]
    batch = ["build", "--exclude-resource-type", "unit_test"]
    exclude = ["--exclude", "config.materialized:ephemeral", "--exclude", "test_name:relationships"]
    quiet = ["--no-write-json", "--log-level-file", "info"]
    assert models_build_args(near_real_time=True) == [*batch, *exclude, *quiet]


def test_dbt_subprocesses_get_the_duckdb_memory_cap_and_threads(monkeypatch):
    from orchestration.lib.resources import WarehouseResource

    monkeypatch.setenv("VIGIL_DUCKDB_MEMORY_LIMIT", "3GB")
    monkeypatch.setenv("VIGIL_DUCKDB_THREADS", "3")
    env = WarehouseResource(engine="duckdb", duckdb_path="/tmp/w.duckdb").dbt_env()
    assert env == {
        "VIGIL_DUCKDB_PATH": "/tmp/w.duckdb",
        "VIGIL_DUCKDB_MEMORY_LIMIT": "3GB",
        "VIGIL_DUCKDB_THREADS": "3",
    }
    assert WarehouseResource(engine="snowflake").dbt_env() == {}


def test_one_publishing_run_at_a_time_the_instance_queues_the_others_and_starts_them_promptly(repo_instance):
    from orchestration.definitions import defs
    from orchestration.defs.jobs import PUBLISHES_TAG

    [(key, value)] = PUBLISHES_TAG.items()
    for job in ("score", "daily"):
        assert defs.resolve_job_def(job).tags[key] == value
    instance = repo_instance
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": key, "limit": 1} in limits
    # A near-real-time batch starts at most a second after its sensor tick (the default waits 5).
    assert instance.run_coordinator.dequeue_interval_seconds == 1


def test_scoring_shows_the_publication_gates_checks_all_blocking_and_drift_apart():
    graph = _graph()
    scores = dg.AssetKey(["risk", "account_risk_scores"])
    checks = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key == scores}
    gate = {"raw_data_complete", "band_rates_stable", "scores_of_run", "population_matches_features"}
    assert gate | {"features_arriving"} <= set(checks)
    # Drift is a signal to look at, not a data fault: only those two checks never block.
    assert {name for name, spec in checks.items() if not spec.blocking} == {"feature_drift", "score_drift"}


def test_restated_performance_grades_days_the_sensor_finds_and_warns_without_blocking():
    from orchestration.definitions import defs

    graph = _graph()
    restated = dg.AssetKey(["ml", "restated_performance"])
    assert graph.get(restated).partitions_def == graph.get(dg.AssetKey(["risk", "account_risk_scores"])).partitions_def
    assert dg.AssetKey(["risk", "enforcement_sync"]) in graph.get(restated).parent_keys
    (check,) = [k for k in graph.asset_check_keys if k.asset_key == restated]
    assert check.name == "restated_performance_holds" and not graph.get_check_spec(check).blocking
    sensor = defs.resolve_sensor_def("matured_days_sensor")
    assert sensor.job_name == "restate_performance"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_near_real_time_sensor_is_off_by_default_and_its_job_publishes_nothing():
    from orchestration.definitions import defs
    from orchestration.defs.jobs import PUBLISHES_TAG
    from orchestration.lib.run_tags import NEAR_REAL_TIME_TAG

    sensor = defs.resolve_sensor_def("landing_files_sensor")
    assert sensor.job_name == "near_real_time"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    job = defs.resolve_job_def("near_real_time")
    assert not set(PUBLISHES_TAG.items()) & set(job.tags.items())
    # Only its runs defer settling files without waiting and skip dbt's unit tests.
    assert set(NEAR_REAL_TIME_TAG.items()) <= set(job.tags.items())
    assert not set(NEAR_REAL_TIME_TAG.items()) & set(defs.resolve_job_def("daily").tags.items())
    keys = set(job.asset_layer.asset_graph.get_all_asset_keys())
    assert dg.AssetKey(["risk", "intraday_scores"]) in keys
    assert not {dg.AssetKey(["risk", "enforcement_sync"]), dg.AssetKey(["risk", "account_risk_scores"])} & keys


def test_the_labels_coverage_test_is_a_check_of_the_labels_run_with_them_not_with_a_feature_day():
    graph = _graph()
    [check] = [k for k in graph.asset_check_keys if k.name == "assert_labels_cover_every_feature_snapshot"]
    assert check.asset_key == _model_key("fct_account_labels_daily")


def test_loading_the_definitions_imports_no_model_library():
    """Every run's process loads the definitions first: MLflow, scikit-learn (XGBoost imports it),
    SciPy and matplotlib are imported by the steps that use them, not by the load."""
    heavy = ("mlflow", "sklearn", "xgboost", "scipy", "matplotlib")
    script = f"import sys, orchestration.definitions; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
