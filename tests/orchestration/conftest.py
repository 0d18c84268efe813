"""A whole `make pipeline` run with enough labelled history to train, shared by the tests that
read what it built (warehouse, training set, MLflow runs and registry)."""

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

# Eight months: the split needs train | 30-day gap | 21 days | 30-day gap | 21 days of final
# labels, and a snapshot's label is final only ~67 days after its as-of day.
MEDIUM = {"n_accounts": 3_000, "start_date": date(2026, 1, 1), "end_date": date(2026, 8, 31), "seed": 5}


@dataclass(frozen=True)
class PipelineRun:
    data: Path
    landing: Path
    env: dict[str, str]
    completed: subprocess.CompletedProcess


def pipeline_env(data: Path, landing: Path, dagster_home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIGIL_DUCKDB_PATH", "VIGIL_WAREHOUSE", "MLFLOW_TRACKING_URI")
    }
    return {**env, "VIGIL_DATA_DIR": str(data), "VIGIL_LANDING_DIR": str(landing), "DAGSTER_HOME": str(dagster_home)}


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    from ml.simulate import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("pipeline")
    data, landing = root / "data", root / "their_landing"
    # Ground truth where evaluation looks for it; the landing folder is the user's own.
    simulate(SimulationConfig(**MEDIUM), landing, data / "ground_truth")
    (root / "dagster_home").mkdir()
    env = pipeline_env(data, landing, root / "dagster_home")
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--no-simulate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return PipelineRun(data=data, landing=landing, env=env, completed=completed)
