"""Run one dbt command the way a Dagster run does (orchestration/defs/dbt/in_process.py: in a
process that has already imported dbt) and print its seconds and exit code as JSON on the last
line: `python -m bench.dbt_in_process <dbt executable> <dbt args>`. Used by bench/daily.py."""

from __future__ import annotations

import json
import os
import sys
import time

import dbt.cli.main  # noqa: F401 (imported before the clock starts, as in a run's process)

from orchestration.defs.dbt.in_process import DbtRunnerProcess


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    process = DbtRunnerProcess(argv, env=dict(os.environ))
    with process.stdout:
        lines = [line.decode().rstrip("\n") for line in process.stdout]
    code = process.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        print("\n".join(lines[-40:]))
    print(json.dumps({"seconds": round(seconds, 2), "returncode": code}))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
