"""The local instance's event log (orchestration/lib/event_log_storage.py): Dagster's SQLite
files and layout, with one connection per database kept open instead of one per event."""

import os
import shutil

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.instance.ref import InstanceRef

from orchestration.lib.event_log_storage import MAX_OPEN_DATABASES, PooledSqliteEventLogStorage
from tests.orchestration.conftest import INSTANCE_SETTINGS


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers():
    return dg.MaterializeResult(
        metadata={"rows": 3}, check_results=[dg.AssetCheckResult(check_name="positive", passed=True)]
    )


@dg.asset(deps=[numbers])
def doubled():
    return dg.MaterializeResult(metadata={"rows": 3})


@pytest.fixture
def opened_connections():
    """The database file of every SQLite connection this process opens."""
    opened = []

    def count(dbapi_connection, connection_record):
        opened.append(dbapi_connection.execute("pragma database_list").fetchone()[2])

    sqlalchemy.event.listen(sqlalchemy.pool.Pool, "connect", count)
    yield opened
    sqlalchemy.event.remove(sqlalchemy.pool.Pool, "connect", count)


def _materialize(instance):
    result = dg.materialize([numbers, doubled], instance=instance)
    assert result.success
    return result.run_id


def test_the_repository_instance_keeps_dagsters_layout_and_reuses_its_connections(repo_instance, opened_connections):
    storage = repo_instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    assert storage._base_dir == os.path.join(repo_instance.root_directory, "history", "runs")

    _materialize(repo_instance)  # the index database created, its connection kept
    opened_connections.clear()
    run_id = _materialize(repo_instance)

    # Every event stored (~20, each written to the run's database, asset ones to the index as
    # well) and read back: Dagster's own storage opens a connection for every one of them.
    events = repo_instance.all_logs(run_id)
    assert len(events) >= 15
    run_db, index_db = (os.path.join(storage._base_dir, f"{name}.db") for name in (run_id, "index"))
    # The new run's database: Dagster's set-up creating it (4 connections), then one kept; the
    # index's connection was kept from the first run.
    assert opened_connections.count(run_db) <= 5 and opened_connections.count(index_db) == 0, opened_connections
    assert os.path.isfile(os.path.join(storage._base_dir, f"{run_id}.db"))
    latest = repo_instance.get_latest_materialization_event(dg.AssetKey("doubled"))
    assert latest is not None and latest.run_id == run_id
    check = repo_instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")]
    )
    assert check[dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")].run_id == run_id


def test_dagsters_own_storage_reads_the_same_files_and_the_other_way_round(repo_instance, tmp_path, monkeypatch):
    """Same files and schema: a home written by this storage opens with Dagster's default one,
    and the other way round, so switching either way keeps the history."""
    run_id = _materialize(repo_instance)
    copy = tmp_path / "stock_home"
    shutil.copytree(repo_instance.root_directory, copy, ignore=shutil.ignore_patterns("dagster.yaml"))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(copy))) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert len(plain.all_logs(run_id)) == len(repo_instance.all_logs(run_id))
        assert plain.get_latest_materialization_event(dg.AssetKey("doubled")).run_id == run_id
        stock_run_id = _materialize(plain)
    shutil.copy(INSTANCE_SETTINGS, copy / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(copy))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(copy))) as pooled:
        assert isinstance(pooled.event_log_storage, PooledSqliteEventLogStorage)
        assert len(pooled.all_logs(stock_run_id)) >= 15
        assert pooled.get_latest_materialization_event(dg.AssetKey("doubled")).run_id == stock_run_id


def test_at_most_so_many_databases_stay_open(repo_instance):
    storage = repo_instance.event_log_storage
    run_ids = [_materialize(repo_instance) for _ in range(3)]
    for shard in [f"extra_{i}" for i in range(MAX_OPEN_DATABASES + 2)]:
        with storage.run_connection(shard) as conn:
            conn.execute(sqlalchemy.text("select 1"))
    assert len(storage._engines) == MAX_OPEN_DATABASES
    assert all(len(repo_instance.all_logs(run_id)) >= 15 for run_id in run_ids)  # reopened when read again


def test_a_forked_child_opens_its_own_connections(repo_instance):
    run_id = _materialize(repo_instance)
    storage = repo_instance.event_log_storage
    assert storage._engines
    pid = os.fork()
    if pid == 0:  # the child: its inherited engines are gone, its reads and writes work
        try:
            ok = not storage._engines and len(repo_instance.all_logs(run_id)) >= 15
            ok = ok and dg.materialize([numbers], instance=repo_instance).success
        except BaseException:  # noqa: BLE001
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connections were not closed under it.
    assert len(repo_instance.all_logs(run_id)) >= 15
    assert _materialize(repo_instance)


def test_an_instance_loaded_from_another_folder_than_dagster_home_is_refused(tmp_path, monkeypatch):
    home, other = tmp_path / "home", tmp_path / "elsewhere"
    for folder in (home, other):
        folder.mkdir()
        shutil.copy(INSTANCE_SETTINGS, folder / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(ValueError, match="DAGSTER_HOME"):
        dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(other)))


def test_wiping_closes_the_connections_first(repo_instance):
    run_id = _materialize(repo_instance)
    repo_instance.event_log_storage.wipe()
    assert repo_instance.all_logs(run_id) == []
    assert _materialize(repo_instance)
