"""Run a function in a real child process, optionally armed to SIGKILL itself at a crash point.

The child is forked, so it starts with the parent's imports (a fresh interpreter costs seconds
per run on a busy machine). It is still a separate process: `crash_point` kills it with
SIGKILL, no `finally` or rollback runs in it, and the parent sees exit code -9. Its temporary
files go to a folder of its own, which the parent removes: a killed child cleans up nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable

from ml.faults import CRASH_AT_ENV


def _child(target: Callable[..., object], args: tuple, crash_at: str | None, scratch: str) -> None:
    tempfile.tempdir = scratch
    os.environ.pop(CRASH_AT_ENV, None)
    if crash_at:
        os.environ[CRASH_AT_ENV] = crash_at
    target(*args)


def run_in_child(
    target: Callable[..., object], *args: object, crash_at: str | None = None, timeout: float = 120
) -> int:
    """Run `target(*args)` in a child process; return its exit code (-9 if it was SIGKILLed)."""
    scratch = tempfile.mkdtemp(prefix="vigil_child_")
    process = multiprocessing.get_context("fork").Process(target=_child, args=(target, args, crash_at, scratch))
    try:
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise TimeoutError(f"child process still running after {timeout}s")
        return process.exitcode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
