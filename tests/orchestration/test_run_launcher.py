"""The run launcher (orchestration/lib/run_launcher.py): the runs of the jobs it serves start
from a fork server with the preloaded modules, run to completion, stop when terminated and are
marked failed by run monitoring when their process dies; other jobs go to Dagster's default
launcher."""

import importlib.util
import logging
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.launcher import LaunchRunContext, WorkerStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from orchestration.defs.jobs import near_real_time_job
from orchestration.lib.run_launcher import DEFAULT_PRELOAD, PID_TAG, PreloadedRunLauncher
from tests.orchestration import launcher_jobs

SERVED = ["reports_its_process", "waits_a_minute", "dies"]


@pytest.fixture(scope="module")
def instance():
    launcher = {
        "module": "orchestration.lib.run_launcher",
        "class": "PreloadedRunLauncher",
        "config": {"jobs": SERVED, "preload": ["wave", "orchestration.lib.dbt_warmup"]},
    }
    with dg.instance_for_test(overrides={"run_launcher": launcher}) as instance:
        yield instance


def _launch(instance, job, marker: Path):
    run = instance.create_run_for_job(
        job,
        run_config={"ops": {next(iter(job.graph.node_dict)): {"config": {"path": str(marker)}}}},
        job_code_origin=dg.reconstructable(getattr(launcher_jobs, job.name)).get_python_origin(),
    )
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return instance.get_run_by_id(run.run_id)


def _wait(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _status(instance, run_id):
    return instance.get_run_by_id(run_id).status


def test_a_served_job_runs_in_a_child_of_the_fork_server(instance, tmp_path):
    assert isinstance(instance.run_launcher, PreloadedRunLauncher)
    run = _launch(instance, launcher_jobs.reports_its_process, tmp_path / "marker")
    _wait(lambda: _status(instance, run.run_id) in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE))
    assert _status(instance, run.run_id) == dg.DagsterRunStatus.SUCCESS
    pid, preloaded, warmed, vigil_module_kept, frozen = (tmp_path / "marker").read_text().split()
    assert pid == run.tags[PID_TAG]  # the process the launcher started and tagged
    assert preloaded == "True"  # imported by the fork server, not by the run
    assert (warmed, vigil_module_kept) == ("True", "False")  # dbt warmed up, Vigil's code left to the run
    assert frozen == "True"  # what it inherited is out of the collector's walks


def test_terminate_stops_the_run(instance, tmp_path):
    marker = tmp_path / "marker"
    run = _launch(instance, launcher_jobs.waits_a_minute, marker)
    _wait(marker.exists)
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    assert instance.run_launcher.terminate(run.run_id)
    _wait(lambda: _status(instance, run.run_id) == dg.DagsterRunStatus.CANCELED, timeout=30)


def test_a_run_whose_process_died_is_marked_failed_by_run_monitoring(instance, tmp_path):
    marker = tmp_path / "marker"
    run = _launch(instance, launcher_jobs.dies, marker)
    _wait(marker.exists)
    _wait(lambda: instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.FAILED, timeout=30)
    assert _status(instance, run.run_id) == dg.DagsterRunStatus.STARTED  # nothing else noticed
    # What the daemon's run monitoring (on in orchestration/dagster.yaml) does with it.
    [record] = instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))
    monitor_started_run(instance, None, record, logging.getLogger("test"))
    assert _status(instance, run.run_id) == dg.DagsterRunStatus.FAILURE


def test_other_jobs_go_to_the_default_launcher(instance, tmp_path):
    job = dg.JobDefinition(graph_def=launcher_jobs.reports_its_process.graph, name="not_served")
    run = instance.create_run_for_job(job, run_config={"ops": {"report_process": {"config": {"path": "x"}}}})
    # Dagster's default launcher asks the run's code server, found through the workspace.
    with pytest.raises(dg.DagsterInvariantViolationError, match="requires a workspace"):
        instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    assert PID_TAG not in instance.get_run_by_id(run.run_id).tags


def test_the_instance_settings_serve_the_near_real_time_job(repo_instance):
    instance = repo_instance
    assert isinstance(instance.run_launcher, PreloadedRunLauncher)
    assert instance.run_launcher.jobs == frozenset({near_real_time_job.name})
    assert instance.run_monitoring_enabled


@pytest.mark.parametrize("module", DEFAULT_PRELOAD)
def test_every_module_the_fork_server_preloads_is_installed(module):
    # Python's fork server skips a preload it cannot import without a word: a renamed module
    # would quietly cost every batch its import again.
    assert importlib.util.find_spec(module) is not None
