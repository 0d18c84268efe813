"""Train -> evaluate -> promote, on the data a whole `make pipeline` run built."""

import shutil
from datetime import date, timedelta

import dagster as dg
import mlflow
import pytest

from ml.registry import CHALLENGER, CHAMPION, ModelRegistry
from ml.train.training_set import TrainingSet

PLOTS = {
    "pr_roc_curves.png",
    "calibration.png",
    "score_distributions.png",
    "feature_importance.png",
    "shap_summary.png",
}


@pytest.fixture(scope="module")
def registry(pipeline_run) -> ModelRegistry:
    assert pipeline_run.completed.returncode == 0, (
        pipeline_run.completed.stdout[-3000:] + pipeline_run.completed.stderr[-3000:]
    )
    return ModelRegistry.from_env(pipeline_run.data)


def _run_of(registry: ModelRegistry, version: str):
    return registry.client.get_run(registry.client.get_model_version(registry.model_name, version).run_id)


def test_the_first_model_beats_the_rules_baseline_and_becomes_champion(registry):
    assert registry.version_of(CHAMPION) == registry.version_of(CHALLENGER) == "1"
    metrics, params = _run_of(registry, "1").data.metrics, _run_of(registry, "1").data.params
    base_rate = int(params["lineage_test_bad_rows"]) / int(params["lineage_test_rows"])
    assert metrics["test.challenger.average_precision"] > metrics["test.rules.average_precision"]
    assert metrics["test.challenger.recall_at_capacity"] >= metrics["test.rules.recall_at_capacity"]
    assert metrics["test.challenger.average_precision"] > 5 * base_rate  # far better than chance
    assert 0.5 < metrics["test.challenger.roc_auc"] <= 1


def test_the_run_logs_split_lineage_policy_plots_and_the_dagster_run(registry, pipeline_run):
    run = _run_of(registry, "1")
    params, tags = run.data.params, run.data.tags
    split = {
        k: date.fromisoformat(params[f"split_{k}"])
        for k in ("train_end", "validation_start", "validation_end", "test_start")
    }
    # No training label window (30 days ahead) reaches validation, and none of validation's the test block.
    assert split["train_end"] + timedelta(days=30) < split["validation_start"]
    assert split["validation_end"] + timedelta(days=30) < split["test_start"]
    assert params["lineage_sha256"] == TrainingSet.load(pipeline_run.data / "ml" / "training_set").fingerprint()
    assert int(params["lineage_train_rows"]) > 0 and params["weighting"] in ("none", "balanced")
    assert 0 < float(params["policy_review_threshold"]) <= float(params["policy_block_threshold"]) < 1
    assert tags["dagster_run_id"] and tags["gate.decision"] == "promote"
    artifacts = {a.path.split("/")[-1] for a in registry.client.list_artifacts(run.info.run_id, "evaluation")}
    assert PLOTS | {"report.json"} <= artifacts


def test_scoring_loads_the_champion_alias_with_its_signature(registry, pipeline_run):
    uri = registry.model_uri(CHAMPION)
    registry.activate()
    info = mlflow.models.get_model_info(uri)
    assert info.signature is not None and info.saved_input_example_info is not None
    training_set = TrainingSet.load(pipeline_run.data / "ml" / "training_set")
    test = training_set.block("test").head(500)[training_set.features].astype("float64")
    scored = mlflow.pyfunc.load_model(uri).predict(test)
    assert len(scored) == 500 and scored["probability"].between(0, 1).all()
    assert set(scored["band"]) <= {"allow", "review", "block"}


def test_the_gate_refuses_a_challenger_that_is_no_better_and_an_override_promotes_it(
    pipeline_run, tmp_path, monkeypatch
):
    from orchestration.definitions import defs
    from orchestration.defs.ml.assets import champion_model, model_evaluation
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    # A copy, so the other tests keep reading the pipeline's own registry. (The experiment's
    # artifact folder is an absolute path in the registry: new runs' files land beside the
    # original ones, under new run ids.)
    data = tmp_path / "data"
    shutil.copytree(pipeline_run.data, data)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIL_LANDING_DIR", str(pipeline_run.landing))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    resources = {
        "warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(data / "warehouse.duckdb")),
        "mlflow": MlflowResource(),
    }
    instance = dg.DagsterInstance.ephemeral()
    registry = ModelRegistry.from_env(data)

    # Same data, same seed: the same model again, so no average-precision gain over the champion.
    again = defs.resolve_job_def("retrain").execute_in_process(
        instance=instance, resources=resources, raise_on_error=False
    )

    assert not again.success
    gate = next(c for c in again.get_asset_check_evaluations() if c.check_name == "promotion_gate")
    assert not gate.passed and "average precision gain +0.0000" in gate.metadata["reasons"].value
    materialized = {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()}
    assert "ml/champion_model" not in materialized
    assert registry.version_of(CHALLENGER) == "2" and registry.version_of(CHAMPION) == "1"
    with pytest.raises(ValueError, match="not passed by the gate"):
        from ml.lifecycle import promote_challenger

        promote_challenger(registry)

    overridden = dg.materialize(
        [model_evaluation, champion_model],
        instance=instance,
        resources=resources,
        run_config={
            "ops": {"ml__model_evaluation": {"config": {"override_reason": "incident 42: retrain on fixed labels"}}}
        },
    )

    assert overridden.success
    assert registry.version_of(CHAMPION) == "2"
    version = registry.client.get_model_version(registry.model_name, "2")
    assert version.tags["gate_override_reason"] == "incident 42: retrain on fixed labels"
    assert _run_of(registry, "2").data.tags["gate.override_reason"] == "incident 42: retrain on fixed labels"
