"""Snowflake credentials: the DBT_ENV_SECRET_* names dbt scrubs, read the same way by dbt and
Vigil's Python, key-pair auth, and an explicit least-privilege role per component."""

import re
from pathlib import Path

import pytest
import yaml

from ml.warehouse import Role
from ml.warehouse.snowflake_engine import (
    PASSWORD_ENV,
    PRIVATE_KEY_PASSPHRASE_ENV,
    PRIVATE_KEY_PATH_ENV,
    connection_kwargs_from_env,
    role_env,
)

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
SECRET = "canary-sf-9c2e"
BASE = {"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "VIGIL_SVC", "SNOWFLAKE_DATABASE": "VIGIL"}


def test_key_pair_auth_reads_the_key_path_and_the_secret_passphrase():
    env = {**BASE, "SNOWFLAKE_SCORER_ROLE": "VIGIL_SCORER", PRIVATE_KEY_PATH_ENV: "/run/keys/vigil.p8"}
    env[PRIVATE_KEY_PASSPHRASE_ENV] = SECRET

    kwargs = connection_kwargs_from_env(Role.SCORER, env)

    assert kwargs["private_key_file"] == "/run/keys/vigil.p8" and kwargs["private_key_file_pwd"] == SECRET
    assert "password" not in kwargs


def test_password_auth_reads_the_dbt_env_secret_password():
    env = {**BASE, "SNOWFLAKE_ROLE": "VIGIL_DEV", PASSWORD_ENV: SECRET}

    assert connection_kwargs_from_env(Role.LOADER, env)["password"] == SECRET


@pytest.mark.parametrize("role", list(Role))
def test_each_component_connects_with_its_own_role_before_the_fallback(role):
    env = {**BASE, PASSWORD_ENV: SECRET, "SNOWFLAKE_ROLE": "FALLBACK", role_env(role): f"VIGIL_{role.name}"}

    assert connection_kwargs_from_env(role, env)["role"] == f"VIGIL_{role.name}"
    others = [r for r in Role if r != role]
    assert connection_kwargs_from_env(others[0], env)["role"] == "FALLBACK"


def test_a_connection_without_a_role_is_refused_rather_than_using_the_users_default():
    with pytest.raises(RuntimeError, match="SNOWFLAKE_SCORER_ROLE"):
        connection_kwargs_from_env(Role.SCORER, {**BASE, PASSWORD_ENV: SECRET})


@pytest.mark.parametrize("old", ["SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"])
def test_the_old_unprefixed_secret_names_are_refused_without_showing_their_values(old):
    env = {**BASE, "SNOWFLAKE_ROLE": "R", PASSWORD_ENV: "x", old: SECRET}

    with pytest.raises(RuntimeError, match=f"rename {old}") as refused:
        connection_kwargs_from_env(Role.SCORER, env)

    assert SECRET not in str(refused.value)


def test_missing_credentials_are_named_never_shown():
    with pytest.raises(RuntimeError, match=f"{PRIVATE_KEY_PATH_ENV}.*{PASSWORD_ENV}"):
        connection_kwargs_from_env(Role.SCORER, {**BASE, "SNOWFLAKE_ROLE": "R"})


def _env_vars(field: str) -> list[str]:
    return re.findall(r"env_var\('([A-Z0-9_]+)'", field)


@pytest.mark.parametrize("target", ["snowflake", "snowflake_dev"])
def test_the_dbt_profile_reads_each_secret_only_from_the_variables_python_reads(target):
    """dbt scrubs only DBT_ENV_SECRET_* values from its logs: a secret field reading any other
    variable would be logged in clear the day a message quotes it."""
    output = yaml.safe_load(PROFILES.read_text())["vigil"]["outputs"][target]

    assert _env_vars(output["password"]) == [PASSWORD_ENV]
    assert _env_vars(output["private_key_passphrase"]) == [PRIVATE_KEY_PASSPHRASE_ENV]
    assert _env_vars(output["private_key_path"]) == [PRIVATE_KEY_PATH_ENV]
    assert "private_key" not in output and "token" not in output  # no other secret field
    assert _env_vars(output["role"])[0] == role_env(Role.TRANSFORMER)  # dbt is the transformer
    assert all(v.startswith("DBT_ENV_SECRET_") for v in (PASSWORD_ENV, PRIVATE_KEY_PASSPHRASE_ENV))
