"""dbt commands from Dagster (orchestration/defs/dbt/invocation.py): each starts from the parse
saved by the last successful command with the same vars and profile variables, saves its own,
and leaves a bounded number of target folders."""

import os
import time
from pathlib import Path

import pytest

from orchestration.defs.dbt import invocation
from orchestration.defs.dbt.invocation import PARSE_CACHE, PARTIAL_PARSE, dbt_command, parse_key, prune

ENV = {"VIGIL_DUCKDB_PATH": "/data/warehouse.duckdb", "VIGIL_DUCKDB_MEMORY_LIMIT": "4GB"}


class FakeDbt:
    """Stands in for DbtCliResource: records the parse each command found, writes a new one."""

    def __init__(self, project_dir: Path, fail: bool = False):
        self.project_dir = str(project_dir)
        self.fail = fail
        self.seen: list[bytes | None] = []

    def cli(self, args, *, context=None, manifest=None, target_path: Path):
        seeded = target_path / PARTIAL_PARSE
        self.seen.append(seeded.read_bytes() if seeded.exists() else None)
        if self.fail:
            raise RuntimeError("dbt failed")
        seeded.write_bytes(f"parse of {' '.join(args)}".encode())
        return target_path


def _run(dbt: FakeDbt, args, name="vigil_dbt_models", run_id="abcdef0123"):
    with dbt_command(dbt, args, name=name, run_id=run_id) as folder:
        return folder


def test_the_key_follows_vars_and_profile_variables_only():
    build = parse_key(["build"], ENV)
    assert parse_key(["build", "--exclude-resource-type", "unit_test"], ENV) == build
    assert parse_key(["build"], {**ENV, "UNRELATED": "x", "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "s"}) == build
    assert parse_key(["build"], {**ENV, "VIGIL_DUCKDB_PATH": "/other.duckdb"}) != build
    day = parse_key(["run", "--vars", '{"min_date": "2026-08-31", "max_date": "2026-08-31"}'], ENV)
    assert day != build
    # Vars are compared parsed: their order in the JSON does not matter.
    assert parse_key(["run", "--vars", '{"max_date": "2026-08-31", "min_date": "2026-08-31"}'], ENV) == day


def test_a_command_starts_from_the_parse_the_last_one_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**ENV})
    dbt = FakeDbt(tmp_path)
    _run(dbt, ["build"])
    _run(dbt, ["build"])
    _run(dbt, ["run", "--vars", '{"min_date": "2026-08-31", "max_date": "2026-08-31"}'])
    assert dbt.seen == [None, b"parse of build", None]
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
