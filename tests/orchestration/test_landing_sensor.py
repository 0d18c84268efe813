"""landing_files_sensor: a settled file it has not seen launches one batch; a batch in flight
holds the files for the next one; nothing new, nothing launched."""

import json
import os
from pathlib import Path

import dagster as dg

from ml.ingest.load import discover_landing_files
from orchestration.defs.live import sensors
from orchestration.defs.live.sensors import advanced, arrived_ns, landing_files_sensor, new_settled_files

SECOND = 1_000_000_000


def _file(landing: Path, name: str, mtime_s: int) -> Path:
    path = landing / "logins" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("event_id\n")
    os.utime(path, ns=(mtime_s * SECOND, mtime_s * SECOND))
    return path


def test_a_file_moved_in_with_an_old_modification_time_arrives_when_it_is_moved(tmp_path):
    (path,) = [_file(tmp_path, "old.csv", 100)]
    (found,) = discover_landing_files(tmp_path)
    assert found.mtime_ns == 100 * SECOND
    assert arrived_ns(found) == os.stat(path).st_ctime_ns > 100 * SECOND


def test_new_files_are_the_settled_ones_past_the_cursor(tmp_path, monkeypatch):
    # Arrival by modification time here (a test cannot set status-change times).
    monkeypatch.setattr(sensors, "arrived_ns", lambda f: f.mtime_ns)
    _file(tmp_path, "a.csv", 100)
    _file(tmp_path, "b.csv", 200)
    _file(tmp_path, "c.csv", 200)
    _file(tmp_path, "writing.csv", 295)
    files = discover_landing_files(tmp_path)

    first = new_settled_files(files, {}, now_ns=300 * SECOND, settle_seconds=10)
    assert sorted(f.relative_path for f in first) == ["logins/a.csv", "logins/b.csv", "logins/c.csv"]
    cursor = advanced({}, first)
    assert cursor == {"mtime_ns": 200 * SECOND, "names": ["logins/b.csv", "logins/c.csv"]}
    # Later: the settled file and one more at the cursor's own time, never the ones seen.
    _file(tmp_path, "d.csv", 200)
    files = discover_landing_files(tmp_path)
    second = new_settled_files(files, cursor, now_ns=400 * SECOND, settle_seconds=10)
    assert sorted(f.relative_path for f in second) == ["logins/d.csv", "logins/writing.csv"]
    assert advanced(cursor, second)["mtime_ns"] == 295 * SECOND


def test_the_sensor_requests_one_run_and_waits_while_a_batch_is_in_flight(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIL_INGEST_SETTLE_SECONDS", "0")
    _file(tmp_path, "a.csv", 100)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        requested = landing_files_sensor(context)
        assert isinstance(requested, dg.RunRequest)
        assert json.loads(context.cursor)["names"] == ["logins/a.csv"]
        # Nothing new: skipped.
        assert isinstance(
            landing_files_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor)), dg.SkipReason
        )
        # A new file while a batch runs: skipped, and the cursor stays for the next tick.
        _file(tmp_path, "b.csv", 200)
        skipped = _tick_with_batch(instance, context.cursor, "in-flight", dg.DagsterRunStatus.STARTED)
        assert "wait for batch in-flight to finish" in skipped.skip_message


def _tick_with_batch(instance: dg.DagsterInstance, cursor: str, run_id: str, status: dg.DagsterRunStatus):
    """The sensor's tick once a batch `run_id` is in `status`: a skip that keeps the cursor."""
    instance.add_run(dg.DagsterRun(job_name="near_real_time", run_id=run_id, status=status))
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    skipped = landing_files_sensor(context)
    assert isinstance(skipped, dg.SkipReason)
    assert context.cursor == cursor
    return skipped


def test_with_the_repositorys_run_queue_the_next_batch_waits_in_the_queue_and_only_one_waits(
    tmp_path, monkeypatch, repo_instance
):
    instance = repo_instance
    landing = tmp_path / "landing"
    monkeypatch.setenv("VIGIL_LANDING_DIR", str(landing))
    monkeypatch.setenv("VIGIL_INGEST_SETTLE_SECONDS", "0")
    _file(landing, "a.csv", 100)
    assert sensors.queue_holds_one_batch(instance)
    running = dg.DagsterRun(job_name="near_real_time", run_id="running", status=dg.DagsterRunStatus.STARTED)
    instance.add_run(running)
    # A batch runs: the next one is requested now; the queue starts it when the first ends.
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(landing_files_sensor(context), dg.RunRequest)
    # It waits in the queue: newer files fold into it, no third batch is requested.
    _file(landing, "b.csv", 200)
    # (Created, not yet queued: a QUEUED run in a test instance needs a code location.)
    skipped = _tick_with_batch(instance, context.cursor, "queued", dg.DagsterRunStatus.NOT_STARTED)
    assert "wait for batch queued to start" in skipped.skip_message


def test_a_run_queue_without_a_limit_of_one_batch_makes_the_sensor_wait_for_the_running_one(tmp_path):
    with dg.instance_for_test() as default:  # no queue: a requested run starts at once
        assert not sensors.queue_holds_one_batch(default)
    for limits in ([], [{"key": "vigil/path", "value": "near_real_time", "limit": 2}], [{"key": "other", "limit": 1}]):
        overrides = {
            "run_coordinator": {
                "module": "dagster.core.run_coordinator",
                "class": "QueuedRunCoordinator",
                "config": {"tag_concurrency_limits": limits},
            }
        }
        with dg.instance_for_test(overrides=overrides) as instance:
            assert not sensors.queue_holds_one_batch(instance), limits
    # A limit on the tag's key alone (every value) holds one batch too.
    overrides["run_coordinator"]["config"]["tag_concurrency_limits"] = [{"key": "vigil/path", "limit": 1}]
    with dg.instance_for_test(overrides=overrides) as instance:
        assert sensors.queue_holds_one_batch(instance)
