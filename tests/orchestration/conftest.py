"""The whole-pipeline fixture `pipeline_run` lives in tests/pipeline.py (a plugin registered in
tests/conftest.py, shared with tests/browser); its names are re-exported here for the tests
that import them."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from tests.pipeline import CREDENTIAL_VARIABLES, MEDIUM, PipelineRun, pipeline_env  # noqa: F401

INSTANCE_SETTINGS = Path(__file__).resolve().parents[2] / "orchestration" / "dagster.yaml"


@pytest.fixture
def repo_instance(tmp_path, monkeypatch):
    """A Dagster instance with the repository's settings (orchestration/dagster.yaml), as
    `make dev` has them, in its own home (`DAGSTER_HOME`, which the settings read)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    shutil.copy(INSTANCE_SETTINGS, home / "dagster.yaml")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        yield instance
