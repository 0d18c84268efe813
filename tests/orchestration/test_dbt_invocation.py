"""dbt commands from Dagster (orchestration/defs/dbt/invocation.py): each starts from the parse
saved by the last successful command with the same vars and profile variables, saves its own,
and leaves a bounded number of target folders."""

import os
import sys
import time
from pathlib import Path

import pytest

from orchestration.defs.dbt import invocation
from orchestration.defs.dbt.invocation import (
    PARSE_CACHE,
    PARTIAL_PARSE,
    dbt_command,
    feature_days_env,
    parse_key,
    profile_variables,
    prune,
)
from orchestration.defs.dbt.project import DBT_PROJECT_DIR

ENV = {"VIGIL_DUCKDB_PATH": "/data/warehouse.duckdb", "VIGIL_DUCKDB_MEMORY_LIMIT": "4GB"}


class FakeDbt:
    """Stands in for DbtCliResource: records the parse each command found, writes a new one."""

    def __init__(self, project_dir: Path, fail: bool = False):
        self.project_dir, self.profiles_dir = str(project_dir), str(DBT_PROJECT_DIR)
        self.fail = fail
        self.seen: list[bytes | None] = []

    def cli(self, args, *, context=None, manifest=None, target_path: Path):
        self.environ = dict(os.environ)  # what dagster-dbt copies for the dbt process
        seeded = target_path / PARTIAL_PARSE
        self.seen.append(seeded.read_bytes() if seeded.exists() else None)
        if self.fail:
            raise RuntimeError("dbt failed")
        seeded.write_bytes(f"parse of {' '.join(args)}".encode())
        return target_path


def _run(dbt: FakeDbt, args, name="vigil_dbt_models", run_id="abcdef0123", command_env=None):
    with dbt_command(dbt, args, name=name, run_id=run_id, env=ENV, command_env=command_env) as folder:
        return folder


def test_the_profile_variables_are_those_profiles_yml_reads_without_secrets():
    names = profile_variables(DBT_PROJECT_DIR / "profiles.yml")
    assert {"VIGIL_DBT_TARGET", "VIGIL_DUCKDB_PATH", "VIGIL_DUCKDB_MEMORY_LIMIT", "SNOWFLAKE_ACCOUNT"} <= set(names)
    assert not [n for n in names if n.startswith("DBT_ENV_SECRET_")]
    assert "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD" in (DBT_PROJECT_DIR / "profiles.yml").read_text()


def test_the_key_follows_vars_and_profile_variables_only():
    names = profile_variables(DBT_PROJECT_DIR / "profiles.yml")
    build = parse_key(["build"], ENV, names)
    assert parse_key(["build", "--exclude-resource-type", "unit_test"], ENV, names) == build
    assert parse_key(["build"], {**ENV, "UNRELATED": "x", "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "s"}, names) == build
    assert parse_key(["build"], {**ENV, "VIGIL_DUCKDB_PATH": "/other.duckdb"}, names) != build
    day = parse_key(["run", "--vars", '{"min_date": "2026-08-31", "max_date": "2026-08-31"}'], ENV, names)
    assert day != build
    # Vars are compared parsed: their order in the JSON does not matter.
    assert parse_key(["run", "--vars", '{"max_date": "2026-08-31", "min_date": "2026-08-31"}'], ENV, names) == day


def test_a_command_starts_from_the_parse_the_last_one_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**ENV})
    dbt = FakeDbt(tmp_path)
    _run(dbt, ["build"])
    _run(dbt, ["build"])
    _run(dbt, ["run", "--vars", '{"min_date": "2026-08-31", "max_date": "2026-08-31"}'])
    assert dbt.seen == [None, b"parse of build", None]
    assert os.environ["VIGIL_DUCKDB_PATH"] == ENV["VIGIL_DUCKDB_PATH"]  # what dbt inherits
    assert len(list((tmp_path / "target" / PARSE_CACHE).glob("*.msgpack"))) == 2


def test_a_failed_command_saves_nothing_and_keeps_its_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**ENV})
    with pytest.raises(RuntimeError):
        _run(FakeDbt(tmp_path, fail=True), ["build"])
    assert not (tmp_path / "target" / PARSE_CACHE).exists()
    assert len(list((tmp_path / "target").glob("vigil_dbt_models-abcdef0-*"))) == 1


def test_only_the_newest_folders_of_a_kind_stay(tmp_path, monkeypatch):
    target = tmp_path / "target"
    for i in range(5):
        folder = target / f"vigil_dbt_models-run{i}-x"
        folder.mkdir(parents=True)
        os.utime(folder, (time.time() - 100 + i, time.time() - 100 + i))
    (target / "intraday_features-run0-x").mkdir()
    removed = prune(target, "vigil_dbt_models", keep=2)
    assert sorted(p.name for p in removed) == [f"vigil_dbt_models-run{i}-x" for i in range(3)]
    assert sorted(p.name for p in target.iterdir()) == [
        "intraday_features-run0-x",
        "vigil_dbt_models-run3-x",
        "vigil_dbt_models-run4-x",
    ]
    monkeypatch.setattr(invocation, "KEEP_FOLDERS", 1)
    monkeypatch.setattr(os, "environ", {**ENV})
    _run(FakeDbt(tmp_path), ["build"])
    assert len(list(target.glob("vigil_dbt_models-*"))) == 1


def test_the_resource_opens_no_adapter_in_the_run_process():
    from orchestration.definitions import defs

    dbt = defs.resources["dbt"]
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_the_resource_knows_its_dbt_version_without_running_dbt(monkeypatch):
    import subprocess

    from dagster_dbt.core import resource as dagster_dbt_resource

    from orchestration.definitions import defs

    dbt = defs.resources["dbt"]
    answered = subprocess.run([dbt.dbt_executable, "--version"], capture_output=True, text=True, check=True).stdout
    monkeypatch.setattr(dagster_dbt_resource, "check_output", lambda *a, **k: pytest.fail(f"ran {a}"))
    fresh = type(dbt)(project_dir=dbt.project_dir, dbt_executable=dbt.dbt_executable)
    assert f"installed: {fresh._cli_version}" in answered  # the version `dbt --version` reports


def test_another_dbt_executable_still_answers_for_itself(tmp_path, monkeypatch):
    from dagster_dbt.core import resource as dagster_dbt_resource

    fake = tmp_path / "dbt"
    fake.write_text("#!/bin/sh\necho 'Core:\n  - installed: 9.8.7'\n")
    fake.chmod(0o755)
    assert not invocation.installed_beside_python(str(fake))
    assert invocation.installed_beside_python(str(Path(sys.prefix) / "bin" / "dbt"))
    ran = []
    real = dagster_dbt_resource.check_output
    monkeypatch.setattr(dagster_dbt_resource, "check_output", lambda args: ran.append(args) or real(args))
    dbt = invocation.VigilDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=str(fake))
    assert str(dbt._cli_version) == "9.8.7" and ran == [[str(fake), "--version"]]


def test_each_days_feature_build_starts_from_the_last_parse_with_its_days_for_dbt_only(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**ENV, "VIGIL_FEATURES_MIN_DATE": "set-by-the-user"})
    dbt = FakeDbt(tmp_path)
    _run(dbt, ["build"], command_env=feature_days_env("2026-08-30", "2026-08-30"))
    _run(dbt, ["build"], command_env=feature_days_env("2026-08-31", "2026-08-31"))

    assert dbt.seen == [None, b"parse of build"]  # the same vars: the saved parse serves the next day
    assert dbt.environ["VIGIL_FEATURES_MIN_DATE"] == dbt.environ["VIGIL_FEATURES_MAX_DATE"] == "2026-08-31"
    # Nothing stays behind for the process's next command.
    assert os.environ["VIGIL_FEATURES_MIN_DATE"] == "set-by-the-user"
    assert "VIGIL_FEATURES_MAX_DATE" not in os.environ
    _run(dbt, ["build"])
    assert "VIGIL_FEATURES_MAX_DATE" not in dbt.environ


def test_a_failed_start_leaves_the_environment_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**ENV})
    with pytest.raises(RuntimeError):
        _run(FakeDbt(tmp_path, fail=True), ["build"], command_env=feature_days_env("2026-08-31", "2026-08-31"))
    assert "VIGIL_FEATURES_MIN_DATE" not in os.environ
