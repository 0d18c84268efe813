"""The fork server's dbt warm-up (orchestration/lib/dbt_warmup.py): importing it runs dbt on a
throwaway project and leaves nothing behind but dbt's warm caches; a failure costs nothing
but the warm-up."""

import json
import os
import subprocess
import sys

from orchestration.lib.run_launcher import DEFAULT_PRELOAD

# In a new process, as in the fork server: what importing the module leaves behind.
PROBE = """
import importlib, json, os, sys, threading
for name in json.loads(sys.argv[1]):  # the fork server's other preloads, first
    importlib.import_module(name)
native_threads = len(os.listdir("/proc/self/task"))
import orchestration
import orchestration.lib.dbt_warmup as warmup
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt_common.events.event_manager_client import get_event_manager
events = get_event_manager()
print(json.dumps({
    "warmed": warmup.WARMED,
    "vigil_modules": sorted(name for name in sys.modules if name.split(".")[0] in ("ml", "orchestration")),
    "stale_attribute": hasattr(orchestration, "defs"),
    "python_threads": threading.active_count(),
    "native_threads_added": len(os.listdir("/proc/self/task")) - native_threads,
    "dbt_loggers_and_callbacks": len(events.loggers) + len(events.callbacks),
    "duckdb_open": DuckDBConnectionManager._ENV is not None,
}))
"""


def test_importing_it_runs_dbt_and_keeps_nothing_but_dbts_caches(tmp_path):
    *preload, last = DEFAULT_PRELOAD
    assert last == "orchestration.lib.dbt_warmup"  # after the libraries it warms
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    probe = [sys.executable, "-c", PROBE, json.dumps(preload)]
    done = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "warmed": True,  # both builds succeeded
        "vigil_modules": ["orchestration", "orchestration.lib", "orchestration.lib.dbt_warmup"],
        "stale_attribute": False,
        # The fork server forks its runs from one thread: a thread the warm-up started would be
        # missing in every run, and whatever waits for it there would wait forever.
        "python_threads": 1,
        "native_threads_added": 0,
        "dbt_loggers_and_callbacks": 0,
        "duckdb_open": False,
    }
    assert list(tmp_path.iterdir()) == []  # its project folder is gone


def test_a_failed_warmup_is_logged_and_swallowed(monkeypatch, caplog):
    from orchestration.lib import dbt_warmup

    def fails(_folder):
        raise RuntimeError("no dbt today")

    monkeypatch.setattr(dbt_warmup, "_build_twice", fails)
    assert dbt_warmup.warm_up() is False
    assert "dbt warm-up failed" in caplog.text and "no dbt today" in caplog.text
