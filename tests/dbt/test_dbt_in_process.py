"""dbt commands in the run's own process (orchestration/defs/dbt/in_process.py) look to
dagster-dbt like the subprocess they replace: the same structured log lines and exit codes,
secrets scrubbed, the environment restored, and the warehouse file free when they end."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from orchestration.defs.dbt.in_process import DbtRunnerProcess
from tests.dbt.conftest import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).parent / "dbt")
MODEL = "stg_marketplace__bids"  # a model and its tests
# Its relationship tests read models a fresh warehouse does not have.
BUILD = ["build", "--select", MODEL, "--exclude", "test_name:relationships"]
UNBUILT_PARENT = "int_bids_dated"  # reads MODEL, which a fresh warehouse does not have


def _warehouse(ingested_duckdb: Path, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ingested_duckdb, path)
    return path


def _command(args: list[str], tmp_path: Path) -> list[str]:
    folders = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "target")]
    return [DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), *folders]


def _env(path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VIGIL_DUCKDB_PATH": str(path),
        "DBT_LOG_FORMAT": "json",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **extra,
    }


def _in_process(args: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    process = DbtRunnerProcess(_command(args, tmp_path), env=env)
    with process.stdout:
        lines = [line.decode().rstrip("\n") for line in process.stdout]
    return process.wait(timeout=600), lines


def _subprocess(args: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    done = subprocess.run(_command(args, tmp_path), env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout.splitlines()


def _results(lines: list[str]) -> Counter:
    """(event, node, status) of every node's result event in a structured log."""
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return Counter(
        (e["info"]["name"], e["data"]["node_info"]["unique_id"], e["data"]["node_info"]["node_status"])
        for e in events
        if e["data"].get("node_info", {}).get("node_status") and e["info"]["name"].endswith("Result")
    )


def test_a_command_in_process_logs_what_its_subprocess_logs_and_frees_the_warehouse(ingested_duckdb, tmp_path):
    env = _env(_warehouse(ingested_duckdb, tmp_path / "sub"))
    code, lines = _subprocess(BUILD, tmp_path / "sub", env)
    warehouse = _warehouse(ingested_duckdb, tmp_path / "in")
    before = dict(os.environ)
    in_code, in_lines = _in_process(BUILD, tmp_path / "in", _env(warehouse, VIGIL_X="1"))

    assert code == in_code == 0
    assert _results(in_lines) == _results(lines) and len(_results(lines)) == 2  # the model and its test
    assert all(json.loads(line)["info"]["level"] != "debug" for line in in_lines)  # as the console prints
    assert "debug" in _file_levels(tmp_path / "in")  # dbt.log keeps the debug lines
    assert dict(os.environ) == before  # the command's variables were set for it only
    # dbt-duckdb keeps its database open between commands in a process: closed at the end, so
    # another process can write to the file.
    writer = f"import duckdb; duckdb.connect({str(warehouse)!r}).execute('create table freed (x int)')"
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)


def test_a_command_may_keep_its_debug_lines_out_of_dbt_log(ingested_duckdb, tmp_path):
    args = [*BUILD, "--log-level-file", "info"]  # as a near-real-time batch's commands do
    code, lines = _in_process(args, tmp_path, _env(_warehouse(ingested_duckdb, tmp_path)))

    assert code == 0 and len(_results(lines)) == 2  # the step still reads every result
    levels = _file_levels(tmp_path)  # node starts and results (a warning if dbt has one), no statement
    assert "info" in levels and "debug" not in levels


def _file_levels(folder: Path) -> set[str]:
    lines = (folder / "target" / "dbt.log").read_text().splitlines()
    return {json.loads(line)["info"]["level"] for line in lines if line.startswith("{")}


def test_failures_exit_with_dbts_codes(ingested_duckdb, tmp_path):
    env = _env(_warehouse(ingested_duckdb, tmp_path))
    # A model whose parent was never built fails (1); a flag dbt does not know fails dbt (2).
    for args, code in ((["run", "--select", UNBUILT_PARENT], 1), (["run", "--no-such-flag"], 2)):
        in_code, lines = _in_process(args, tmp_path, env)
        assert in_code == _subprocess(args, tmp_path, env)[0] == code, args
        assert lines


def test_secrets_are_scrubbed_from_what_the_step_reads(ingested_duckdb, tmp_path):
    secret = "s3cr3t-token-value"
    env = _env(_warehouse(ingested_duckdb, tmp_path), DBT_ENV_SECRET_TOKEN=secret)
    code, lines = _in_process(["ls", "--select", secret], tmp_path, env)  # dbt warns, naming the selector
    assert code == 0
    assert not [line for line in lines if secret in line]
    assert any("*****" in line for line in lines)


def test_the_resource_runs_its_commands_in_process_and_raises_dbts_errors(ingested_duckdb, tmp_path, monkeypatch):
    from dagster_dbt.core.dbt_cli_invocation import DagsterDbtCliRuntimeError

    from orchestration.defs.dbt.invocation import VigilDbtCliResource

    monkeypatch.setenv("VIGIL_DUCKDB_PATH", str(_warehouse(ingested_duckdb, tmp_path)))
    dbt = VigilDbtCliResource(project_dir=str(DBT_PROJECT_DIR), in_process=True)
    done = dbt.cli(BUILD, target_path=tmp_path / "ok").wait()
    assert done.is_successful() and done.process.pid == os.getpid()
    assert {r["status"] for r in done.get_artifact("run_results.json")["results"]} == {"success", "pass"}
    monkeypatch.setenv("VIGIL_DUCKDB_PATH", str(_warehouse(ingested_duckdb, tmp_path / "fresh")))
    with pytest.raises(DagsterDbtCliRuntimeError, match="exit code `1`"):
        dbt.cli(["run", "--select", UNBUILT_PARENT], target_path=tmp_path / "failed").wait()


def test_a_terminated_run_stops_its_dbt_command(ingested_duckdb, tmp_path):
    import time

    env = _env(_warehouse(ingested_duckdb, tmp_path))
    endless = ["show", "--inline", "select count(*) as n from range(1000000000000)"]  # hours of work
    process = DbtRunnerProcess(_command(endless, tmp_path), env=env)
    time.sleep(8)  # dbt has parsed and started the query
    assert process.poll() is None
    process.send_signal(2)  # what dagster-dbt does when the run is terminated
    assert process.wait(timeout=60) != 0  # raises if the query still runs a minute later
    with process.stdout:
        assert any("INTERRUPT" in line.decode().upper() for line in process.stdout)
