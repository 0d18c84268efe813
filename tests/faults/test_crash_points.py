"""The crash-point mechanism the fault-injection suite relies on."""

import signal
import subprocess
import sys

CODE = "from ml.faults import crash_point; crash_point('here'); print('survived')"


def test_a_named_crash_point_kills_the_process_with_sigkill():
    done = subprocess.run(
        [sys.executable, "-c", CODE], env={"VIGIL_CRASH_AT": "here", "PATH": ""}, capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL
    assert "survived" not in done.stdout


def test_other_crash_points_do_nothing():
    done = subprocess.run(
        [sys.executable, "-c", CODE], env={"VIGIL_CRASH_AT": "elsewhere", "PATH": ""}, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == "survived"
