"""dbt commands in the run's own process, read by dagster-dbt as if from a subprocess.

dagster-dbt starts every dbt command as a new process and reads its structured log from a pipe.
That process starts Python, imports dbt and every installed adapter, and tears it all down at
the end: about 3 s a command on an idle machine (1.8 s to dbt's first log line, 1 s to exit),
over 5 s beside a near-real-time batch's other work, paid twice per batch. The run's process
has already imported dbt (dagster-dbt does). `DbtRunnerProcess` runs the same command line with
dbt's programmatic entry point (`dbtRunner`) in a thread of this process and looks like the
`subprocess.Popen` dagster-dbt reads: dbt's own JSON log lines (info and above, secrets
scrubbed, as `--log-format json` prints them; dbt.log keeps the debug lines unless the command
sets its own `--log-level-file`) on `stdout`, dbt's
exit code from `wait()`. So dagster-dbt turns them into the same Dagster events, checks and
errors as before.

What a thread cannot do like a process, and what stands in for it:
- **Environment.** The command's variables (its target folder, `--log-format json`, the
  day of a feature build) are set in this process's environment while dbt starts and reads
  them, and restored when it ends. A run executes one step at a time, so nothing else reads
  them meanwhile.
- **Working directory.** Not changed (it is the process's). The project and profiles folders
  dbt would find in the subprocess's working directory are given to it as `DBT_PROJECT_DIR`
  and `DBT_PROFILES_DIR` instead; a relative path in the profile would still resolve from the
  process's directory, so Vigil passes the warehouse path absolute (`WarehouseResource`).
- **The warehouse file.** dbt-duckdb keeps its DuckDB database open after a command for the
  next one in the same process. It is closed when the command ends, so the step's own
  sessions, and the next run's process, can open the file.
- **Python logging.** dbt configures loggers of the process it runs in: dbt-snowflake, as it
  is imported, routes the Snowflake connector's logger into dbt's events at ERROR and stops it
  propagating; dbt keeps its event loggers and callbacks after a command. Both are undone when
  the command ends, so Vigil's own Snowflake sessions log as they did before.
- **Interrupts.** A run being terminated interrupts dbt's open queries (what dbt itself does
  on Ctrl-C); the command then fails and the thread ends.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

# dbt's exit codes: 1 when a node failed or a test errored, 2 when dbt itself failed.
EXIT_FAILURE, EXIT_ERROR = 1, 2
# The console prints nothing (the events reach dagster-dbt through the callback); dbt.log
# keeps every line, as with a subprocess, unless the command sets its own `--log-level-file`.
QUIET_CONSOLE = ("--log-level", "none")
FILE_LOG_LEVEL = "--log-level-file"
EVERY_LINE_TO_FILE = (FILE_LOG_LEVEL, "debug")


@contextmanager
def scoped_environ(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` in the process environment inside the block, as they were after it."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between commands in one process
    (`keep_open`, its default), so the file is free for the next writer."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # no dbt-duckdb: nothing kept open
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


@contextmanager
def process_logging_kept() -> Iterator[None]:
    """Undo, after the block, what dbt does to the process's Python logging: the loggers it
    routed into its own events (`DbtEventLoggingHandler`) lose that handler and get back their
    level and propagation from before (a new logger's defaults if it was created inside);
    dbt's event loggers and callbacks are released. Nothing else is touched: another thread
    may configure its own loggers meanwhile."""
    from dbt_common.events.event_handler import DbtEventLoggingHandler
    from dbt_common.events.event_manager_client import cleanup_event_logger

    loggers = logging.Logger.manager.loggerDict
    before = {name: (lg.level, lg.propagate) for name, lg in loggers.items() if isinstance(lg, logging.Logger)}
    before[""] = (logging.root.level, logging.root.propagate)
    try:
        yield
    finally:
        cleanup_event_logger()
        for name, logger in [("", logging.root), *list(loggers.items())]:
            if not isinstance(logger, logging.Logger):
                continue
            routed = [h for h in logger.handlers if isinstance(h, DbtEventLoggingHandler)]
            if routed:
                level, logger.propagate = before.get(name, (logging.NOTSET, True))
                logger.handlers = [h for h in logger.handlers if h not in routed]
                logger.setLevel(level)  # also clears the cache of effective levels


CANCEL_EVERY_SECONDS = 0.5  # after a terminate, until the command ends


def cancel_open_queries() -> None:
    """What dbt does on Ctrl-C: cancel the queries of every adapter it opened."""
    from dbt.adapters.factory import FACTORY

    for adapter in list(FACTORY.adapters.values()):
        adapter.cancel_open_connections()


def _folders_of(cwd: str | Path | None, env: Mapping[str, str]) -> dict[str, str]:
    """The project and profiles folders dbt would find in `cwd` as a subprocess's working
    directory, as the variables dbt reads first (this process's working directory stays)."""
    if cwd is None:
        return {}
    folder = Path(cwd).resolve()
    found = {"DBT_PROJECT_DIR": str(folder)} if (folder / "dbt_project.yml").is_file() else {}
    if (folder / "profiles.yml").is_file():
        found["DBT_PROFILES_DIR"] = str(folder)
    return {name: value for name, value in found.items() if name not in env}


def dbt_arguments(args: Sequence[str]) -> list[str]:
    """A command's arguments for `dbtRunner`: nothing on the console, dbt.log at the command's
    own level or at debug."""
    file_level = () if FILE_LOG_LEVEL in args else EVERY_LINE_TO_FILE
    return [*args, *QUIET_CONSOLE, *file_level]


class DbtRunnerProcess:
    """`dbt <args>` (args[0] is the executable, as for Popen) run by `dbtRunner` in a thread,
    with `env`'s differences from this process's environment set while it runs."""

    def __init__(
        self, args: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None, **_popen_options: object
    ):
        self.args = list(args)
        self.pid = os.getpid()
        self.returncode: int | None = None
        read_end, write_end = os.pipe()
        self.stdout = os.fdopen(read_end, "rb")
        self._writer = os.fdopen(write_end, "wb")
        self._reader_gone = False
        self._canceller: threading.Thread | None = None
        env = {**env, **_folders_of(cwd, env)}
        changed = {name: value for name, value in env.items() if os.environ.get(name) != value}
        self._thread = threading.Thread(target=self._run, args=(changed,), name="dbt", daemon=True)
        self._thread.start()

    def _run(self, changed: Mapping[str, str]) -> None:
        from dbt.cli.main import dbtRunner

        # Everything written inside the block: the scrubber reads the command's secrets there.
        with scoped_environ(changed), process_logging_kept():
            try:
                result = dbtRunner(callbacks=[self._forward]).invoke(dbt_arguments(self.args[1:]))
                if result.exception is not None:
                    self._write(f"dbt failed: {type(result.exception).__name__}: {result.exception}")
                self.returncode = 0 if result.success else EXIT_ERROR if result.exception else EXIT_FAILURE
            except BaseException:  # noqa: BLE001 (reported on the pipe, as a crashed process's stderr would be)
                self._write(traceback.format_exc())
                self.returncode = EXIT_ERROR
            finally:
                try:
                    close_duckdb()
                except Exception:  # noqa: BLE001 (the file may still be held: the command fails)
                    self._write(traceback.format_exc())
                    self.returncode = EXIT_ERROR
                self._close_writer()

    def _forward(self, msg) -> None:
        """One dbt event as its JSON log line, the way the console prints it at info level."""
        if msg.info.level == "debug":
            return
        from dbt_common.events.functions import msg_to_json

        self._write(msg_to_json(msg))

    def _write(self, line: str) -> None:
        """A line to the step, its secrets scrubbed as dbt's own loggers scrub theirs."""
        from dbt_common.events.functions import env_scrubber

        if self._reader_gone:
            return
        try:
            self._writer.write(env_scrubber(line).encode() + b"\n")
            self._writer.flush()
        except (BrokenPipeError, ValueError):  # the step stopped reading: dbt finishes unheard
            self._reader_gone = True

    def _close_writer(self) -> None:
        try:
            self._writer.close()
        except (BrokenPipeError, OSError):
            pass

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode if self.returncode is not None else EXIT_ERROR

    def send_signal(self, _signal: int) -> None:
        self.terminate()

    def terminate(self) -> None:
        """Cancel the command's queries until it ends: a cancel that comes while dbt still parses
        or opens its connection finds no query, and the query that starts next would run on."""
        cancel_open_queries()
        if self._canceller is None and self._thread.is_alive():
            self._canceller = threading.Thread(target=self._keep_cancelling, name="dbt-cancel", daemon=True)
            self._canceller.start()

    kill = terminate

    def _keep_cancelling(self) -> None:
        while self._thread.is_alive():
            cancel_open_queries()
            self._thread.join(CANCEL_EVERY_SECONDS)


# What dagster-dbt's invocation module sees as `subprocess` while a command starts in process.
IN_PROCESS_SUBPROCESS = SimpleNamespace(Popen=DbtRunnerProcess, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT)


@contextmanager
def dbt_in_process() -> Iterator[None]:
    """dagster-dbt starts its command with `DbtRunnerProcess` instead of a subprocess inside
    the block (a run executes one step at a time: no other command starts meanwhile)."""
    from dagster_dbt.core import dbt_cli_invocation

    real = dbt_cli_invocation.subprocess
    dbt_cli_invocation.subprocess = IN_PROCESS_SUBPROCESS
    try:
        yield
    finally:
        dbt_cli_invocation.subprocess = real
