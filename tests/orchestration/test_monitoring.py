"""Monitoring on what a whole `make pipeline` run built: drift recorded with every scored day,
the day's review-queue page, and restated performance once a published day's labels are final."""

import shutil
from datetime import date

import dagster as dg
import duckdb
import pytest

from ml.registry import ModelRegistry

# A day of the pipeline's history whose labels are all final (the medium simulation ends on
# 2026-08-31; a label matures ~67 days after its as-of day).
MATURED_DAY = date(2026, 5, 15)


@pytest.fixture(scope="module")
def scored(pipeline_run):
    assert pipeline_run.completed.returncode == 0, (
        pipeline_run.completed.stdout[-3000:] + pipeline_run.completed.stderr[-3000:]
    )
    with duckdb.connect(str(pipeline_run.data / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute("select distinct as_of_date from risk.account_risk_scores order by 1").fetchall()
    days = [day for (day,) in days]
    return pipeline_run, days


def _rows(path, sql, params=None):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_scored_day_recorded_its_drift_and_arrival_checks_with_the_gate(scored):
    run, days = scored
    recorded = _rows(
        run.data / "warehouse.duckdb",
        "select as_of_date, check_name, passed, severity from risk.publication_checks"
        " where check_name in ('features_arriving', 'drift.features', 'drift.score')",
    )
    by_day = {}
    for day, check, passed, severity in recorded:
        by_day.setdefault(day, {})[check] = (passed, severity)
    assert sorted(by_day) == days
    for checks in by_day.values():
        assert set(checks) == {"features_arriving", "drift.features", "drift.score"}
        assert checks["features_arriving"] == (True, "error")  # every feature arrived on the demo's days


def test_the_champion_carries_its_training_reference(scored):
    run, _ = scored
    champion = ModelRegistry.from_env(run.data).load_champion()
    assert champion.reference is not None
    assert set(champion.model.features) <= set(champion.reference.features)


def test_every_scored_day_has_its_review_queue_page(scored):
    run, days = scored
    pages = sorted(p.name for p in (run.data / "reports").glob("review_queue_*.html"))
    assert pages == [f"review_queue_{day}.html" for day in days]
    last = (run.data / "reports" / f"review_queue_{days[-1]}.html").read_text()
    flagged = _rows(
        run.data / "warehouse.duckdb",
        "select account_id from risk.account_risk_scores where as_of_date = ? and band in ('review', 'block')"
        " order by score desc limit 1",
        [days[-1]],
    )
    assert f'data-account="{flagged[0][0]}"' in last
    assert "published" in last  # rewritten after the sync, with the day's publication status


@pytest.fixture(scope="module")
def matured_copy(scored, tmp_path_factory):
    """The pipeline's data with its risk schema emptied, then MATURED_DAY scored and published
    by the score job (a sync never publishes a day before its watermark)."""
    from orchestration.definitions import defs
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    run, _ = scored
    data = tmp_path_factory.mktemp("matured") / "data"
    shutil.copytree(run.data, data, ignore=shutil.ignore_patterns("dagster_home"))
    path = data / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("drop schema risk cascade")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        resources = {
            "warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(path)),
            "mlflow": MlflowResource(),
        }
        instance = dg.DagsterInstance.ephemeral()
        scoring = defs.resolve_job_def("score").execute_in_process(
            instance=instance, resources=resources, partition_key=str(MATURED_DAY)
        )
        assert scoring.success
        graded = defs.resolve_job_def("restate_performance").execute_in_process(
            instance=instance, resources=resources, partition_key=str(MATURED_DAY)
        )
        pending = defs.resolve_job_def("restate_performance").execute_in_process(
            instance=instance, resources=resources, partition_key="2026-08-31", raise_on_error=False
        )
    return data, graded, pending


def test_the_sensor_finds_the_published_day_whose_labels_are_final(matured_copy, monkeypatch):
    from ml.monitor.performance import gradable_days
    from ml.warehouse.duckdb_engine import DuckDBWarehouse

    data, _, _ = matured_copy
    assert [day for day, _ in gradable_days(DuckDBWarehouse(data / "warehouse.duckdb", read_only=True))] == [
        MATURED_DAY
    ]


def test_a_matured_day_is_graded_per_side_and_checked_against_the_gate(matured_copy):
    _, graded, _ = matured_copy
    assert graded.success
    (event,) = graded.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["model_version"].value == "1"
    assert 0 < metadata["average_precision"].value <= 1
    assert 0 <= metadata["recall_at_capacity"].value <= 1
    assert "buyer" in metadata["by_side"].value and "seller" in metadata["by_side"].value
    assert metadata["recall_by_abuse_type"].value  # ground truth is present: per abuse type
    (check,) = graded.get_asset_check_evaluations()
    assert check.check_name == "restated_performance_holds"
    assert "gate" in check.metadata["comparison"].value


def test_the_graded_day_is_logged_to_mlflow_against_the_version_that_scored_it(matured_copy):
    from ml.monitor.tracking import RUN_TAG, day_step

    data, graded, _ = matured_copy
    registry = ModelRegistry.from_env(data)
    run_id = registry.client.get_model_version(registry.model_name, "1").tags[RUN_TAG]
    run = registry.client.get_run(run_id)
    assert run.data.tags["monitoring.model_version"] == "1"
    history = registry.client.get_metric_history(run_id, "restated.average_precision")
    assert [m.step for m in history] == [day_step(MATURED_DAY)]
    (event,) = graded.get_asset_materialization_events()
    assert history[0].value == pytest.approx(event.materialization.metadata["average_precision"].value)


def test_a_day_whose_labels_are_pending_is_refused_with_the_reason(matured_copy):
    _, _, pending = matured_copy
    assert not pending.success
    failure = next(e for e in pending.all_events if e.is_step_failure)
    assert "cannot be graded" in str(failure.event_specific_data.error.message)


def test_make_report_writes_a_days_page_from_an_existing_warehouse_read_only(scored, tmp_path):
    import hashlib
    import os
    import subprocess

    run, days = scored
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(run.data / "warehouse.duckdb", data / "warehouse.duckdb")
    digest = hashlib.sha256((data / "warehouse.duckdb").read_bytes()).hexdigest()
    env = {**run.env, "VIGIL_DATA_DIR": str(data)}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    made = subprocess.run(
        ["make", "-s", "report", f"DAY={days[0]}"], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    missing = subprocess.run(
        ["make", "-s", "report", "DAY=2026-01-02"], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )

    page = data / "reports" / f"review_queue_{days[0]}.html"
    assert made.returncode == 0, made.stderr[-2000:]
    assert made.stdout.strip().endswith(str(page)) and page.is_file()
    assert f"Review queue &middot; {days[0]}" in page.read_text()
    assert missing.returncode != 0 and "no scores for 2026-01-02" in missing.stderr
    assert hashlib.sha256((data / "warehouse.duckdb").read_bytes()).hexdigest() == digest
