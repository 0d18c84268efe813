"""Jobs for tests/orchestration/test_run_launcher.py: their runs are started by the launcher
in another process, which imports this module."""

import gc
import os
import sys
import time
from pathlib import Path

import dagster as dg


class MarkerConfig(dg.Config):
    path: str


@dg.op
def report_process(config: MarkerConfig) -> None:
    # Whether the run's process had `wave` (a stdlib module nothing here imports) before it ran,
    # whether dbt was warmed up (orchestration/lib/dbt_warmup.py) and whether a Vigil module the
    # warm-up used is still there (it must not be: a run imports Vigil's code from disk), and
    # whether what it inherited is kept out of the garbage collector's walks.
    warmup = sys.modules.get("orchestration.lib.dbt_warmup")
    kept = "orchestration.defs.dbt.in_process" in sys.modules
    frozen = gc.get_freeze_count() > 0
    report = f"{os.getpid()} {'wave' in sys.modules} {getattr(warmup, 'WARMED', None)} {kept} {frozen}"
    Path(config.path).write_text(report)


@dg.op
def wait_a_minute(config: MarkerConfig) -> None:
    Path(config.path).write_text(str(os.getpid()))
    time.sleep(60)


@dg.op
def die(config: MarkerConfig) -> None:
    Path(config.path).write_text(str(os.getpid()))
    os._exit(9)  # as the kernel's out-of-memory killer would end it: no cleanup


@dg.job(executor_def=dg.in_process_executor)  # as near_real_time: steps in the run process
def reports_its_process():
    report_process()


@dg.job(executor_def=dg.in_process_executor)  # as near_real_time: steps in the run process
def waits_a_minute():
    wait_a_minute()


@dg.job(executor_def=dg.in_process_executor)  # as near_real_time: steps in the run process
def dies():
    die()
