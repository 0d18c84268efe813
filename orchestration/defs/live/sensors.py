"""The near-real-time trigger: a landing file that settled and that the sensor has not seen yet
launches `near_real_time_job`, at most one run at a time.

The next batch is requested while one runs, when the instance's run queue holds it until the
running one ends (`orchestration/dagster.yaml`: a limit of 1 on the near-real-time tag): it
then starts as soon as the batch before it finishes, without waiting for a sensor tick and for
Dagster to create the run, and it ingests every file landed by then. At most one waits; what
lands meanwhile folds into it. An instance without that limit would start the two at once, so
there the sensor waits for the running batch to end instead."""

from __future__ import annotations

import hashlib
import json
import os
import time

import dagster as dg

from ml import settings
from ml.ingest.load import LandingFile, discover_landing_files
from orchestration.defs.jobs import near_real_time_job
from orchestration.lib.run_tags import NEAR_REAL_TIME_TAG

WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
IN_FLIGHT = [*WAITING, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def queue_holds_one_batch(instance: dg.DagsterInstance) -> bool:
    """Whether the instance's run queue starts at most one near-real-time run at a time (a
    limit of 1 on `NEAR_REAL_TIME_TAG`), so a run requested while one runs waits for it."""
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:  # not a queued run coordinator: a requested run starts at once
        return False
    [(key, value)] = NEAR_REAL_TIME_TAG.items()
    return any(
        limit.get("key") == key and limit.get("value", value) == value and limit.get("limit") == 1
        for limit in queue.tag_concurrency_limits
    )


def arrived_ns(f: LandingFile) -> int:
    """When a file arrived in the folder: the later of its modification and status-change
    times. A file moved or copied in with its old modification time kept (`mv`, `cp -p`,
    `rsync -a`, an upload renamed when complete) has a new status-change time."""
    try:
        return max(f.mtime_ns, os.stat(f.path).st_ctime_ns)
    except FileNotFoundError:
        return f.mtime_ns


def new_settled_files(files: list[LandingFile], cursor: dict, now_ns: int, settle_seconds: float) -> list[LandingFile]:
    """Files that arrived after the cursor (arrival time, then the names seen at that time) and
    have not changed for `settle_seconds` (ingestion would defer them: the next tick sees them)."""
    newest, seen = cursor.get("mtime_ns", 0), set(cursor.get("names", []))
    settled_before = now_ns - int(settle_seconds * 1e9)
    arrivals = [(f, arrived_ns(f)) for f in files]
    unseen = [(f, at) for f, at in arrivals if at > newest or (at == newest and f.relative_path not in seen)]
    return [f for f, at in unseen if at <= settled_before]


def advanced(cursor: dict, new: list[LandingFile]) -> dict:
    """The cursor after `new`: the newest arrival time and the names seen at it."""
    arrivals = {f.relative_path: arrived_ns(f) for f in new}
    newest = max([cursor.get("mtime_ns", 0), *arrivals.values()])
    names = {path for path, at in arrivals.items() if at == newest}
    if newest == cursor.get("mtime_ns", 0):
        names |= set(cursor.get("names", []))
    return {"mtime_ns": newest, "names": sorted(names)}


@dg.sensor(
    job=near_real_time_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches a near-real-time batch for landing files that settled since the last one;"
    " at most one batch runs and one waits in the run queue (files landing meanwhile fold into it).",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    landing = settings.landing_dir()
    if not landing.is_dir():
        return dg.SkipReason(f"landing folder {landing} does not exist")
    cursor = json.loads(context.cursor) if context.cursor else {}
    new = new_settled_files(discover_landing_files(landing), cursor, time.time_ns(), settings.ingest_settle_seconds())
    if not new:
        return dg.SkipReason("no new settled landing file")
    queued = queue_holds_one_batch(context.instance)
    ahead = context.instance.get_run_records(
        dg.RunsFilter(job_name=near_real_time_job.name, statuses=WAITING if queued else IN_FLIGHT), limit=1
    )
    if ahead:
        # The cursor stays: these files go to the next batch, with whatever lands meanwhile.
        until = "start" if queued else "finish"
        return dg.SkipReason(f"{len(new)} new files wait for batch {ahead[0].dagster_run.run_id} to {until}")
    after = advanced(cursor, new)
    context.update_cursor(json.dumps(after))
    key = hashlib.sha256("\n".join(sorted(f.relative_path for f in new)).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=f"landing:{after['mtime_ns']}:{key}", tags={"vigil/new_files": str(len(new))})
