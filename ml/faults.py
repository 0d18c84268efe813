"""Named crash points for the fault-injection tests.

`crash_point("ingest.after_started")` kills the current process with SIGKILL when the
environment variable VIGIL_CRASH_AT names that point: a real, unclean death (no `finally`, no
rollback from Python), as an out-of-memory kill or a lost machine would be. The tests run the
pipeline in a subprocess with the variable set and check what the next run makes of it. Unset
(always, outside those tests) a crash point is one environment lookup and does nothing.
"""

from __future__ import annotations

import os
import signal

CRASH_AT_ENV = "VIGIL_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, uncleanly, if VIGIL_CRASH_AT is `name`."""
    if os.environ.get(CRASH_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
