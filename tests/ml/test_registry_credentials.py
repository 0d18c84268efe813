"""A tracking URI's credentials never reach a message MLflow writes or Vigil shows."""

import pytest
from mlflow.exceptions import MlflowException

from ml.registry import ModelRegistry

SECRET = "canary-registry-4f1d"


@pytest.fixture
def no_mlflow_credentials(monkeypatch):
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    # A dead server must fail at once, not after MLflow's minutes of retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


def test_http_credentials_move_from_the_uri_to_mlflows_own_variables(no_mlflow_credentials):
    import os

    registry = ModelRegistry(f"http://vigil:{SECRET}@127.0.0.1:9/")

    assert registry.tracking_uri == "http://127.0.0.1:9/"
    assert registry.display_uri == "http://127.0.0.1:9/"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "vigil"
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == SECRET


def test_a_failing_tracking_server_error_does_not_quote_the_password(no_mlflow_credentials):
    registry = ModelRegistry(f"http://vigil:{SECRET}@127.0.0.1:9")  # port 9 (discard): nothing listens

    with pytest.raises(MlflowException) as failed:
        registry.version_of("champion")

    assert "127.0.0.1:9" in str(failed.value)  # the message still says where
    assert SECRET not in str(failed.value)


def test_credentials_that_disagree_with_mlflows_variables_are_refused_without_showing_them(
    no_mlflow_credentials, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "another-password")

    with pytest.raises(ValueError, match="MLFLOW_TRACKING_PASSWORD") as refused:
        ModelRegistry(f"https://vigil:{SECRET}@mlflow.internal")

    assert SECRET not in str(refused.value) and "another-password" not in str(refused.value)


def test_database_tracking_uris_keep_their_password_for_sqlalchemy_and_show_none(no_mlflow_credentials):
    registry = ModelRegistry.__new__(ModelRegistry)  # no connection: only the URI handling
    registry.tracking_uri = f"postgresql+psycopg://vigil:{SECRET}@127.0.0.1:5432/mlflow"

    assert SECRET not in registry.display_uri
    assert registry.display_uri == "postgresql+psycopg://***@127.0.0.1:5432/mlflow"
