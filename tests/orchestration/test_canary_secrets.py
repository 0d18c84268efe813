"""Canary secrets: no credential reaches the Dagster event log and run storage, the MLflow
store, dbt's logs and artifacts, or printed output.

1. The whole pipeline (`pipeline_run`: ingestion, dbt, features, labels, training, evaluation,
   promotion, scoring and the sync, on DuckDB) ran with a canary in every credential variable.
2. A training run (the `ml/risk_model` asset, on a small synthetic training set) logs to an
   MLflow store on PostgreSQL through a tracking URI that carries the canary as its password,
   which PostgreSQL really checks.
"""

import re
from datetime import date, timedelta

import dagster as dg
import numpy as np
import pandas as pd

from ml.registry import ModelRegistry
from ml.score.rules import DAILY_RULES, rule_features
from ml.train.split import OutOfTimeSplit
from ml.train.training_set import TrainingSet
from orchestration.defs.dbt.project import DBT_PROJECT_DIR
from orchestration.lib.summary import model_summary
from tests.canary import file_count, files_containing, new_canary
from tests.orchestration.conftest import CREDENTIAL_VARIABLES, PipelineRun

DBT_TARGET = DBT_PROJECT_DIR / "target"


def _dbt_invocation_dirs(run: PipelineRun):
    """dagster-dbt's target folder of each dbt invocation of the run (artifacts and dbt.log)."""
    ids = re.search(r"dagster runs: (.+)", run.completed.stdout).group(1).split(", ")
    return [p for p in DBT_TARGET.iterdir() if p.is_dir() and any(f"-{i[:7]}-" in p.name for i in ids)]


def _synthetic_training_set(seed: int = 3) -> TrainingSet:
    """Three blocks of 20 days x 150 accounts, one informative feature: enough to train on."""
    rng = np.random.default_rng(seed)
    split = OutOfTimeSplit(
        train_start=date(2026, 1, 1),
        train_end=date(2026, 1, 20),
        validation_start=date(2026, 2, 20),
        validation_end=date(2026, 3, 11),
        test_start=date(2026, 4, 11),
        test_end=date(2026, 4, 30),
        gap_days=30,
    )
    days = [
        start + timedelta(days=i)
        for start in (split.train_start, split.validation_start, split.test_start)
        for i in range(20)
    ]
    frame = pd.DataFrame([(f"acc_{a:03d}", d) for d in days for a in range(150)], columns=["account_id", "as_of_date"])
    frame["is_bad"] = rng.random(len(frame)) < 0.05
    frame["signal"] = rng.normal(0, 1, len(frame)) + 2.0 * frame["is_bad"]
    frame["noise"] = rng.normal(0, 1, len(frame))
    known = {column for rule in DAILY_RULES for column in rule.known}
    for name in rule_features(DAILY_RULES):  # what the daily rules read, at values no rule matches
        frame[name] = None if name in known else 0
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    frame["block"] = split.block_of(frame["as_of_date"])
    return TrainingSet(frame, split, ["signal", "noise"])


def test_the_scanner_finds_a_canary_in_any_file_it_is_given(tmp_path):
    canary = new_canary()
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "events.db").write_bytes(b"\x00\x01 run log ..." + canary.encode() + b"\xff")
    (tmp_path / "a" / "clean.txt").write_text("nothing here")

    assert files_containing([tmp_path], canary) == [tmp_path / "a" / "b" / "events.db"]


def test_no_credential_of_the_pipeline_run_reaches_dagster_mlflow_dbt_or_its_output(pipeline_run):
    done, canary = pipeline_run.completed, pipeline_run.canary
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert all(pipeline_run.env[var] == canary for var in CREDENTIAL_VARIABLES)
    places = {
        "dagster": [pipeline_run.dagster_home],
        "mlflow": [pipeline_run.data / "mlflow"],
        "dbt": _dbt_invocation_dirs(pipeline_run),
    }

    hits = {name: files_containing(roots, canary) for name, roots in places.items()}
    scanned = {name: file_count(roots) for name, roots in places.items()}
    print(f"\ncanary, pipeline run: files scanned {scanned}, {len(CREDENTIAL_VARIABLES)} variables, hits {hits}")

    assert all(scanned.values())
    assert any((d / "dbt.log").exists() for d in places["dbt"])
    assert hits == {name: [] for name in places}
    assert canary not in done.stdout and canary not in done.stderr


def test_a_password_in_the_tracking_uri_reaches_no_metadata_log_summary_or_store(
    postgres_server, tmp_path, monkeypatch, capfd
):
    from orchestration.defs.ml.assets import risk_model
    from orchestration.lib.resources import MlflowResource

    canary = new_canary()
    postgres_server.create_database("mlflow_canary", owner="vigil_mlflow", owner_password=canary)
    uri = f"postgresql+psycopg://vigil_mlflow:{canary}@{postgres_server.host}:{postgres_server.port}/mlflow_canary"
    data, artifacts, dagster_home = tmp_path / "data", tmp_path / "artifacts", tmp_path / "dagster_home"
    _synthetic_training_set().save(data / "ml" / "training_set")
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ModelRegistry(uri, artifacts).experiment_id()  # artifacts in tmp_path, not in ./mlruns
    dagster_home.mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(dagster_home))

    result = dg.materialize([risk_model], instance=instance, resources={"mlflow": MlflowResource()})
    registry = ModelRegistry.from_env(data)
    registry.promote(registry.version_of("challenger"), {"note": "canary test"})
    summary = "\n".join(model_summary(registry))
    output = capfd.readouterr()

    dump = postgres_server.dump("mlflow_canary")
    print(f"\ncanary, tracking URI: {file_count([dagster_home, artifacts])} files, a {len(dump):,}-character dump")
    assert result.success
    assert file_count([dagster_home, artifacts]) > 0
    assert files_containing([dagster_home, artifacts], canary) == []
    assert "vigil_account_risk" in dump and canary not in dump  # the run and model are there, the password not
    assert canary not in output.out and canary not in output.err
    assert "tracking postgresql+psycopg://***@" in summary and canary not in summary
    shown = result.get_asset_materialization_events()[0].materialization.metadata["mlflow_tracking_uri"].value
    assert shown == f"postgresql+psycopg://***@{postgres_server.host}:{postgres_server.port}/mlflow_canary"
