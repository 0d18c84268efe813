"""The whole-pipeline fixture `pipeline_run` lives in tests/pipeline.py (a plugin registered in
tests/conftest.py, shared with tests/browser); its names are re-exported here for the tests
that import them."""

from tests.pipeline import CREDENTIAL_VARIABLES, MEDIUM, PipelineRun, pipeline_env  # noqa: F401
