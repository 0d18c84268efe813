"""A run launcher whose run processes start with their libraries already imported.

Dagster's default launcher starts each run as a new Python process (spawned by the code server)
that imports Dagster, dbt, DuckDB, pandas and the definitions again before its first step:
6 to 11 s of a near-real-time batch's latency (BENCHMARKS.md, "Near-real-time path"). For the
jobs listed in `jobs`, this launcher starts the run's process from a fork server that imported
the `preload` modules once (Python's `multiprocessing` "forkserver": a single-threaded process
that forks a child per run, so nothing a run does leaks into the next). The preloaded modules
are third-party libraries, and last `orchestration.lib.dbt_warmup`, which runs dbt once on a
throwaway project so that a run's first dbt command does not pay dbt's first-command work, and
keeps no other Vigil module: the run imports Vigil's own code (the definitions, the dbt
manifest) itself, so it always runs the code on disk. Other jobs, and any launch the fork server
cannot take, go through Dagster's default launcher.

The run's process does what `dagster api execute_run` does (Dagster's documented entry point
for run workers that other launchers start: containers, Kubernetes jobs). Lives in the daemon,
which launches queued runs; a run is terminated by signalling its process (its pid is a tag).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Self

from dagster import Field
from dagster import _check as check
from dagster._config.config_schema import UserConfigSchema
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._serdes.config_class import ConfigurableClassData

PID_TAG = "vigil/run_worker_pid"

# Imported once by the fork server: what a batch's run would otherwise import in its first
# seconds (Dagster with the run worker's entry point and the local instance's storage, which
# the run builds before anything else; dagster-dbt, dbt with its DuckDB adapter, the warehouse
# clients, the model libraries its scoring step needs), then dbt's first-command work, the one
# Vigil module, which keeps no other (see the module docstring). A module that is not installed
# is skipped (Python's fork server ignores it).
DEFAULT_PRELOAD = (
    "dagster",
    "dagster._cli.api",
    "dagster._core.instance.factory",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "dagster_dbt",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.snowflake",
    "duckdb",
    "snowflake.connector",
    "pandas",
    "pyarrow.parquet",
    "mlflow.pyfunc",
    "xgboost",
    "orchestration.lib.dbt_warmup",
)


def execute_run(serialized_args: str) -> None:
    """The run's process: `dagster api execute_run` with its arguments already parsed."""
    from dagster._cli.api import _execute_run_command_body
    from dagster._core.instance import DagsterInstance
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    # What the run inherits from the fork server (the libraries, dbt's warm caches: ~590,000
    # objects) lives as long as the run: the collector leaves it out of its full collections,
    # which walked it every time (0.6 s of a batch's 11 s, in-process A/B) and wrote to its
    # pages, which the fork shares with the server until written.
    gc.freeze()
    # Python's fork server ignores SIGINT; a run stops on it (`terminate`), as a run started by
    # `dagster api execute_run` does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with capture_interrupts():
        args = deserialize_value(serialized_args, ExecuteRunArgs)
        with DagsterInstance.from_ref(check.not_none(args.instance_ref)) as instance:
            _execute_run_command_body(args.run_id, instance, lambda _event: None, set_exit_code_on_failure=False)


class PreloadedRunLauncher(DefaultRunLauncher):
    """Starts the runs of `jobs` from a fork server that imported `preload` (see the module
    docstring); every other run as Dagster's `DefaultRunLauncher` does."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        jobs: Sequence[str] = (),
        preload: Sequence[str] = DEFAULT_PRELOAD,
    ):
        super().__init__(inst_data=inst_data)
        self._jobs = frozenset(jobs)
        self._preload = list(preload)
        self._context: Any = None
        self._lock = threading.Lock()

    @property
    def jobs(self) -> frozenset[str]:
        return self._jobs

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {
            "jobs": Field([str], is_required=False, default_value=[], description="jobs whose runs fork"),
            "preload": Field([str], is_required=False, default_value=list(DEFAULT_PRELOAD)),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(
            inst_data=inst_data,
            jobs=config_value.get("jobs", []),
            preload=config_value.get("preload", DEFAULT_PRELOAD),
        )

    def _fork_server(self):
        # Started on the first launch, in the daemon: not in the webserver or a CLI command,
        # which build the instance (and this launcher) but launch nothing.
        with self._lock:
            if self._context is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(self._preload)
                self._context = context
            return self._context

    def launch_run(self, context: LaunchRunContext) -> None:
        from dagster._grpc.types import ExecuteRunArgs
        from dagster._serdes import serialize_value

        run = context.dagster_run
        if run.job_name not in self.jobs or run.job_code_origin is None:
            super().launch_run(context)
            return
        args = ExecuteRunArgs(job_origin=run.job_code_origin, run_id=run.run_id, instance_ref=self._instance.get_ref())
        process = self._fork_server().Process(
            target=execute_run, args=(serialize_value(args),), name=f"dagster-run-{run.run_id}"
        )
        process.start()
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(process.pid)})
        self._run_ids.add(run.run_id)  # what `join` waits for, as for the default launcher's runs

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id) if self.has_instance else None
        pid = run.tags.get(PID_TAG) if run else None
        if pid is None:
            return super().terminate(run_id)
        if run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(int(pid), signal.SIGINT)  # the run's own handler marks it canceled
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        pid = run.tags.get(PID_TAG)
        if not pid:
            # Dagster's default launcher cannot tell (run monitoring then applies its timeouts
            # only, as it does for that launcher); UNKNOWN would fail the run.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "started by the default launcher: not checked")
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run process {pid} is gone")
        except PermissionError:
            pass  # alive, another user's: not ours to judge
        return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
