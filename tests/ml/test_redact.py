"""What may be shown of a URI: no password, token or signed query value."""

import pytest

from ml.redact import MASK, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "postgresql+psycopg://vigil:s3cr%40t@db.internal:5432/mlflow",
            "postgresql+psycopg://***@db.internal:5432/mlflow",
        ),
        ("https://ghp_token123@mlflow.internal/api", "https://***@mlflow.internal/api"),
        ("http://user:pw@host:notaport/x", "http://***@host:notaport/x"),
        (
            "https://bucket.s3.amazonaws.com/a?X-Amz-Signature=abc&X-Amz-Credential=k&region=eu",
            "https://bucket.s3.amazonaws.com/a?X-Amz-Signature=***&X-Amz-Credential=***&region=eu",
        ),
        ("http://mlflow.internal:5000/?token=abc&page=2", "http://mlflow.internal:5000/?token=***&page=2"),
    ],
)
def test_credentials_in_a_uri_are_masked_and_its_location_kept(uri, shown):
    assert redact_uri(uri) == shown


@pytest.mark.parametrize(
    "uri",
    ["sqlite:////abs/data/mlflow/mlflow.db", "http://mlflow.internal:5000", "file:///tmp/artifacts", "databricks"],
)
def test_uris_without_credentials_are_shown_unchanged(uri):
    assert redact_uri(uri) == uri


def test_the_mask_never_contains_the_secret():
    assert "hunter2" not in redact_uri("mysql://root:hunter2@127.0.0.1/db")
    assert MASK in redact_uri("mysql://root:hunter2@127.0.0.1/db")
