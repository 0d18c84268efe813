"""A whole `make pipeline` run with enough labelled history to train, shared by the tests that
read what it built (warehouse, training set, MLflow runs and registry, review-queue pages): a
pytest plugin (tests/conftest.py), so tests/orchestration and tests/browser share one run.

Every credential variable holds a canary value during the run (the pipeline runs on DuckDB and
needs none): test_canary_secrets.py checks that none reaches anything the run wrote.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tests.canary import new_canary

# Eight months: the split needs train | 30-day gap | 21 days | 30-day gap | 21 days of final
# labels, and a snapshot's label is final only ~67 days after its as-of day.
MEDIUM = {"n_accounts": 3_000, "start_date": date(2026, 1, 1), "end_date": date(2026, 8, 31), "seed": 5}
# Every variable that holds a credential in a Vigil deployment (README, Configuration), plus the
# old unprefixed Snowflake names.
CREDENTIAL_VARIABLES = (
    "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD",
    "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "PGPASSWORD",
)


@dataclass(frozen=True)
class PipelineRun:
    data: Path
    landing: Path
    env: dict[str, str]
    completed: subprocess.CompletedProcess
    dagster_home: Path
    canary: str  # the value of every credential variable during the run


def pipeline_env(data: Path, landing: Path, dagster_home: Path, canary: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIGIL_DUCKDB_PATH", "VIGIL_WAREHOUSE", "MLFLOW_TRACKING_URI")
    }
    env.update(dict.fromkeys(CREDENTIAL_VARIABLES, canary))
    return {**env, "VIGIL_DATA_DIR": str(data), "VIGIL_LANDING_DIR": str(landing), "DAGSTER_HOME": str(dagster_home)}


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    from ml.simulate import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("pipeline")
    data, landing = root / "data", root / "their_landing"
    # Ground truth where evaluation looks for it; the landing folder is the user's own.
    simulate(SimulationConfig(**MEDIUM), landing, data / "ground_truth")
    (root / "dagster_home").mkdir()
    canary = new_canary()
    env = pipeline_env(data, landing, root / "dagster_home", canary)
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--no-simulate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return PipelineRun(
        data=data, landing=landing, env=env, completed=completed, dagster_home=root / "dagster_home", canary=canary
    )
