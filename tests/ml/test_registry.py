import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.policy import DecisionPolicy, PolicyCosts
from ml.registry import CHALLENGER, CHAMPION, ModelRegistry, local_tracking_uri
from ml.train.model import TrainConfig, train_risk_model

FEATURES = ["signal", "noise"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.05
    return pd.DataFrame({"signal": rng.normal(0, 1, n) + 2 * bad, "noise": rng.normal(0, 1, n), "is_bad": bad})


@pytest.fixture(scope="module")
def trained():
    model = train_risk_model(_frame(3000, 1), _frame(1500, 2), FEATURES, TrainConfig(max_rounds=50, nthread=1))
    return model, DecisionPolicy(0.1, 0.5, PolicyCosts(), {"reviewed_per_day": 3.0})


def test_versions_move_the_challenger_alias_and_only_promotion_moves_the_champion(trained, tmp_path):
    model, policy = trained
    registry = ModelRegistry.from_env(tmp_path)
    assert registry.load(CHAMPION) is None and registry.version_of(CHALLENGER) is None

    with registry.run(run_name="first"):
        first = registry.log_model(model, policy, _frame(5, 3))
    with registry.run(run_name="second"):
        second = registry.log_model(model, policy, _frame(5, 3))

    assert (first, second) == ("1", "2")
    assert registry.version_of(CHALLENGER) == "2" and registry.version_of(CHAMPION) is None
    registry.promote(first, {"promoted_over": "rules baseline"})
    champion = registry.load(CHAMPION)
    assert champion.version == "1" and champion.tags["promoted_over"] == "rules baseline"
    assert champion.policy == policy
    test = _frame(400, 4)
    np.testing.assert_allclose(champion.model.predict_proba(test), model.predict_proba(test), atol=1e-7)
    assert (tmp_path / "mlflow" / "mlflow.db").exists() and (tmp_path / "mlflow" / "artifacts").is_dir()


def test_the_pyfunc_scores_probabilities_and_bands(trained, tmp_path):
    import mlflow

    model, policy = trained
    registry = ModelRegistry.from_env(tmp_path)
    with registry.run():
        registry.log_model(model, policy, _frame(5, 3))

    registry.activate()
    pyfunc = mlflow.pyfunc.load_model(registry.model_uri(CHALLENGER))
    scored = pyfunc.predict(_frame(300, 5)[FEATURES])

    assert list(scored.columns) == ["probability", "band"]
    np.testing.assert_array_equal(scored["band"], policy.band(scored["probability"].to_numpy()))


def test_a_tracking_server_from_the_environment_wins_over_the_local_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", local_tracking_uri(tmp_path / "elsewhere"))
    registry = ModelRegistry.from_env(tmp_path)
    assert registry.tracking_uri.endswith("elsewhere/mlflow/mlflow.db") and registry.artifact_root is None


def test_a_store_failure_is_raised_not_read_as_no_model(tmp_path, monkeypatch):
    from mlflow.exceptions import MlflowException

    registry = ModelRegistry.from_env(tmp_path)

    def locked(name, alias):
        raise MlflowException("(sqlite3.OperationalError) database is locked", error_code="INTERNAL_ERROR")

    monkeypatch.setattr(registry.client, "get_model_version_by_alias", locked)
    with pytest.raises(MlflowException, match="database is locked"):
        registry.load(CHAMPION)


def test_scoring_loads_the_champion_only_when_the_gate_passed_it(trained, tmp_path):
    from ml.lifecycle import promote_challenger
    from ml.registry import UngatedChampionError

    model, policy = trained
    registry = ModelRegistry.from_env(tmp_path)
    with registry.run(run_name="gated") as first_run:
        registry.log_model(model, policy, _frame(5, 3))
    # What evaluation records on the challenger's run when the gate passes it.
    registry.client.set_tag(first_run, "gate.decision", "promote")
    registry.client.set_tag(first_run, "gate.champion_version", "none")
    assert promote_challenger(registry) == "1"
    assert registry.load_champion().version == "1"

    with registry.run(run_name="never evaluated"):
        registry.log_model(model, policy, _frame(5, 3))
    registry.client.set_registered_model_alias(registry.model_name, CHAMPION, "2")  # moved by hand

    with pytest.raises(UngatedChampionError, match="v2 carries no gate pass"):
        registry.load_champion()


def test_a_logged_version_loads_in_a_fresh_process_by_the_class_name_its_pickle_holds(trained, tmp_path):
    """`RiskModelPyfunc` is made on first use (MLflow is imported lazily); the pickle of a logged
    version names `ml.registry.RiskModelPyfunc` and a process that never touched the registry
    still loads and scores it."""
    model, policy = trained
    registry = ModelRegistry.from_env(tmp_path)
    with registry.run():
        registry.log_model(model, policy, _frame(5, 3))
    (pickled,) = (tmp_path / "mlflow" / "artifacts").rglob("python_model.pkl")
    content = pickled.read_bytes()
    assert b"ml.registry" in content and b"RiskModelPyfunc" in content
    assert b"_load_context" not in content  # by reference, not the class's code by value

    test = _frame(50, 6)
    script = (
        "import sys, mlflow, pandas as pd;"
        f"mlflow.set_tracking_uri({registry.tracking_uri!r}); mlflow.set_registry_uri({registry.tracking_uri!r});"
        f"m = mlflow.pyfunc.load_model({registry.model_uri(CHALLENGER)!r});"
        "print(type(m.unwrap_python_model()).__module__);"
        "print(m.predict(pd.read_json(sys.stdin, orient='split'))['probability'].to_json(orient='values'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=test[FEATURES].to_json(orient="split"),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    module, probabilities = done.stdout.strip().splitlines()[-2:]
    assert module == "ml.registry"
    np.testing.assert_allclose(json.loads(probabilities), model.predict_proba(test), atol=1e-6)
