"""Canary secrets on the Snowflake path (fakesnow emulator): dbt with the canary as its
DBT_ENV_SECRET_ password, and Vigil's Python connector with the same variable, at debug log
level: the canary is in no log, artifact or output."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.warehouse import Role
from ml.warehouse.snowflake_engine import PASSWORD_ENV, SnowflakeWarehouse
from tests.canary import file_count, files_containing, new_canary
from tests.dbt.conftest import DBT_PROJECT_DIR, run_dbt
from tests.snowflake_emulator import dbt_snowflake_env

pytestmark = pytest.mark.snowflake

DATABASE = "VIGIL_CANARY"
DBT_TIMEOUT_SECONDS = 600


def _dbt_debug(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`dbt debug` (which takes no --target-path, so not run_dbt), logs under tmp_path."""
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt), "debug", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    cmd += ["--log-path", str(tmp_path / "logs"), "--log-level", "debug", "--log-level-file", "debug"]
    return subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=DBT_TIMEOUT_SECONDS)


def test_dbt_on_snowflake_writes_its_password_to_no_log_artifact_or_output(fakesnow_connection, tmp_path):
    canary = new_canary()
    env = {
        **dbt_snowflake_env(fakesnow_connection, DATABASE),
        PASSWORD_ENV: canary,  # the emulator accepts any password
        "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": canary,
        "SNOWFLAKE_PASSWORD": canary,  # the old name: read by nothing any more
    }
    debug = ["--log-level", "debug", "--log-level-file", "debug"]
    runs = [
        _dbt_debug(tmp_path, env),
        run_dbt(["seed", *debug, "--vars", "{fakesnow_compat: true}"], tmp_path, env, timeout=DBT_TIMEOUT_SECONDS),
    ]

    assert [r.returncode for r in runs] == [0, 0], runs[0].stdout[-3000:] + runs[1].stdout[-3000:]
    assert "Connection test: [OK connection ok]" in runs[0].stdout  # it did log in with the canary
    print(f"\ncanary, dbt on the emulator: {file_count([tmp_path / 'logs', tmp_path / 'target'])} files scanned")
    assert file_count([tmp_path / "logs", tmp_path / "target"]) > 0
    assert files_containing([tmp_path / "logs", tmp_path / "target"], canary) == []
    assert not [r for r in runs if canary in r.stdout or canary in r.stderr]


def test_vigils_snowflake_sessions_log_no_password_at_debug_level(fakesnow_connection, monkeypatch, caplog, capfd):
    canary = new_canary()
    env = dbt_snowflake_env(fakesnow_connection, DATABASE)
    for var in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_HOST", "SNOWFLAKE_PORT", "SNOWFLAKE_PROTOCOL"):
        monkeypatch.setenv(var, env[var])
    monkeypatch.setenv("SNOWFLAKE_DATABASE", DATABASE)
    monkeypatch.setenv("SNOWFLAKE_SCORER_ROLE", "VIGIL_SCORER")
    monkeypatch.setenv(PASSWORD_ENV, canary)
    for var in (
        "SNOWFLAKE_PASSWORD",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
        "SNOWFLAKE_PRIVATE_KEY_PATH",
        "SNOWFLAKE_ROLE",
    ):
        monkeypatch.delenv(var, raising=False)
    caplog.set_level(logging.DEBUG)

    with SnowflakeWarehouse(role=Role.SCORER).session() as session:
        rows = session.fetch_arrow("select 1 as one").to_pylist()

    output = capfd.readouterr()
    assert rows == [{"one": 1}]
    assert len(caplog.records) > 10  # the connector did log, at debug level
    assert canary not in caplog.text and canary not in output.out and canary not in output.err
