"""The near-real-time path under load: `make bench-live` (measured) and `make live` (watched).

1. **Prepare** (once; kept in `<root>/base`): simulate the demo's world, hold back the rows
   loaded in its last `--hold-back-days` days (`ml.live.replay.hold_back`), and run the
   pipeline (`make pipeline`) on the rest: a warehouse with a champion whose sync is current up
   to the day before the held-back rows.
2. **Run** (in `<root>/run`, a fresh copy of the base each time): start a Dagster daemon on it
   (unless one is already running there, e.g. `make dev` on the same `VIGIL_DATA_DIR`), turn
   `landing_files_sensor` on, replay the held-back rows into the landing folder at `--rate`
   events per second, a file per table every `--every` seconds, for `--minutes`; then wait
   for the last batch and stop the daemon.
3. **Measure** (bench): for every replayed file, from the ingest ledger (which run loaded it),
   the run's batch in `risk.intraday_batches` (when its scores and escalations were
   committed) and the run's Dagster records (when the sensor created it, when it started, each
   step's start and end): the latency from landing to commit and where it went. Results go to
   `bench/results/live-<time>.local.json` and a table on stdout.

The replay compresses simulated time (at 1,000 events/s the demo world's day of ~14,000 events
passes in ~14 s), so after the first held-back day the daily runs have not happened yet and the
intraday gate refuses to escalate (`intraday.daily_current`): those batches still score and
record their refusal, the same work up to the commit. The measured latency is to that commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ml.live.replay import ReplayedFile, hold_back, replay
from ml.score.rules import rule_codes_sql

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SENSOR = "landing_files_sensor"
JOB = "near_real_time"
STEPS = ("ingest_landing_files", "vigil_dbt_models", "risk__intraday_scores")


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VIGIL_DATA_DIR=str(root),
        VIGIL_LANDING_DIR=str(root / "landing"),
        DAGSTER_HOME=str(root / "dagster_home"),
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
        # Replayed files are renamed into place whole: nothing to wait for.
        VIGIL_INGEST_SETTLE_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("VIGIL_DUCKDB_PATH", None)
    return env


def prepare(base: Path, accounts: int, seed: int, hold_back_days: int) -> None:
    """The base state: history ingested, trained, scored and synced; the held-back rows queued."""
    if (base / "prepared.json").exists():
        print(f"reusing {base} (delete it to prepare again)")
        return
    from ml.simulate import SimulationConfig, simulate

    shutil.rmtree(base, ignore_errors=True)
    config = SimulationConfig(n_accounts=accounts, seed=seed)
    started = time.perf_counter()
    simulate(config, base / "source", base / "ground_truth")
    cut = datetime.combine(config.end_date - timedelta(days=hold_back_days - 1), datetime.min.time())
    queued = hold_back(base / "source", base / "landing", base / "queue", cut)
    shutil.rmtree(base / "source")
    print(f"held back {sum(queued.values()):,} rows loaded from {cut}: {queued}")
    (base / "dagster_home").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "orchestration" / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
    subprocess.run([sys.executable, "-m", "orchestration.demo", "--no-simulate"], cwd=REPO, env=_env(base), check=True)
    (base / "prepared.json").write_text(
        json.dumps(
            {
                "accounts": accounts,
                "seed": seed,
                "cut": cut.isoformat(),
                "queued": queued,
                "seconds": round(time.perf_counter() - started),
            }
        )  # fmt: skip
    )


def fresh_run(base: Path, run: Path) -> None:
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run, ignore=shutil.ignore_patterns("prepared.json"))
    # The instance settings of the code measured, not of the code that prepared the base.
    shutil.copy(REPO / "orchestration" / "dagster.yaml", run / "dagster_home" / "dagster.yaml")


def _dagster(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), *args, "-w", str(REPO / "workspace.yaml")],
        cwd=REPO, env=_env(root), check=True, capture_output=True, text=True,
    )  # fmt: skip


def daemon_running(root: Path) -> bool:
    """A daemon already heartbeating on this Dagster home (e.g. `make dev` on the same data)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        beats = instance.get_daemon_heartbeats()
    now = time.time()
    return any(now - beat.timestamp < 60 for beat in beats.values())


def start(root: Path, ui_port: int | None = None) -> subprocess.Popen | None:
    """The daemon (with the UI on `ui_port`: `dagster dev`), unless one runs already, and the
    sensor on, its cursor at now: the history already ingested is not a batch."""
    process = None
    if not daemon_running(root):
        command = ["dagster-daemon", "run"] if ui_port is None else ["dagster", "dev", "-p", str(ui_port)]
        log = open(root / "daemon.log", "w")  # noqa: SIM115 (open for the daemon's lifetime)
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / command[0]), *command[1:], "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=_env(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    _dagster(root, "sensor", "cursor", SENSOR, "--set", json.dumps({"mtime_ns": time.time_ns(), "names": []}))
    _dagster(root, "sensor", "start", SENSOR)
    return process


def stop(root: Path, daemon: subprocess.Popen | None) -> None:
    try:
        _dagster(root, "sensor", "stop", SENSOR)
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)


def _runs(root: Path) -> list:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_run_records(dg.RunsFilter(job_name=JOB)))


def wait_idle(
    root: Path, last_landed: datetime | None, timeout: float, on_poll: Callable[[], None] = lambda: None
) -> None:
    """Until a near-real-time run created after the last file landed has finished, and no run
    is queued or running (or `timeout`): every replayed file has then been ingested."""
    from orchestration.defs.live.sensors import IN_FLIGHT

    if last_landed is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _runs(root)
        after = [r for r in runs if r.create_timestamp.astimezone(UTC).replace(tzinfo=None) > last_landed]
        if after and not [r for r in runs if r.dagster_run.status in IN_FLIGHT]:
            return
        on_poll()
        time.sleep(3)
    print(f"near-real-time runs still in flight after {timeout:.0f} s", file=sys.stderr)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def measure(root: Path, files: list[ReplayedFile]) -> dict:
    """Latency of every replayed file (landing -> its batch committed) and its breakdown."""
    import dagster as dg

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        ledger = {
            path: (run_id, status)
            for path, run_id, status in con.execute(
                "select file_path, run_id, status from ingest.file_ledger where file_path like '%/live%'"
            ).fetchall()
        }
        batches = {
            row[0]: row[1:]
            for row in con.execute(
                "select batch_id, finished_at, accounts_touched, accounts_scored, escalated, publication"
                " from risk.intraday_batches"
            ).fetchall()
        }
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    runs, steps = {}, {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records(dg.RunsFilter(job_name=JOB)):
            runs[record.dagster_run.run_id] = record
            stats = instance.get_run_step_stats(record.dagster_run.run_id)
            steps[record.dagster_run.run_id] = {s.step_key: s for s in stats}

    def utc(ts: float | None) -> datetime | None:
        return None if ts is None else datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)

    # The end of the batch before each run: a run created while it ran waits in the queue until then.
    by_start = sorted((r for r in runs.values() if r.start_time), key=lambda r: r.start_time)
    previous_end = {
        later.dagster_run.run_id: utc(earlier.end_time) for earlier, later in zip(by_start, by_start[1:], strict=False)
    }

    rows, unprocessed = [], []
    for f in files:
        run_id, status = ledger.get(f.path, (None, None))
        batch = batches.get(run_id)
        if batch is None or run_id not in runs:
            unprocessed.append(f.path)
            continue
        record, stats = runs[run_id], steps[run_id]
        created, started = utc(record.create_timestamp.timestamp()), utc(record.start_time)
        queued_until = max(created, previous_end.get(run_id) or created)
        part = {
            "file": f.path,
            "rows": f.rows,
            "status": status,
            "latency_s": (batch[0] - f.landed_at).total_seconds(),
            # 0 when the file landed after its run was created: the ingest step lists the folder
            # when it runs, so it takes files that landed after the sensor's tick too.
            "to_run_created_s": max(0.0, (created - f.landed_at).total_seconds()),
            # Created while the batch before it ran: in the run queue until that one ended.
            "queued_behind_batch_s": max(0.0, (queued_until - max(created, f.landed_at)).total_seconds()),
            "run_launch_s": (started - queued_until).total_seconds() if started else None,
            "publication": batch[4],
        }
        for key in STEPS:
            step = stats.get(key)
            part[f"{key}_s"] = (step.end_time - step.start_time) if step and step.end_time else None
        rows.append(part)

    def summary(values: Iterable[float | None], weights: Iterable[int] | None = None) -> dict:
        """p50, p95 and max of `values`, each counted `weights` times (per event: a file's rows)."""
        values = list(values)
        weights = list(weights) if weights is not None else [1] * len(values)
        counted = [v for v, w in zip(values, weights, strict=True) for _ in range(w) if v is not None]
        p50, p95 = _percentile(counted, 0.5), _percentile(counted, 0.95)
        return {"p50": p50, "p95": p95, "max": max(counted, default=None)}

    processed_runs = sorted({ledger[r["file"]][0] for r in rows})
    return {
        "files": len(files),
        "events": sum(f.rows for f in files),
        "files_unprocessed": len(unprocessed),
        "events_unprocessed": sum(f.rows for f in files if f.path in set(unprocessed)),
        "latency_per_event_s": summary([r["latency_s"] for r in rows], [r["rows"] for r in rows]),
        "latency_per_file_s": summary(r["latency_s"] for r in rows),
        "breakdown_per_file_s": {
            name: summary(r[name] for r in rows)
            for name in ("to_run_created_s", "queued_behind_batch_s", "run_launch_s", *(f"{k}_s" for k in STEPS))
        },
        "batches": len(processed_runs),
        "events_per_batch": summary(
            [sum(r["rows"] for r in rows if ledger[r["file"]][0] == run) for run in processed_runs]
        ),
        "run_seconds": summary([(runs[run].end_time or 0) - (runs[run].start_time or 0) for run in processed_runs]),
        "batches_published": sum(1 for run in processed_runs if batches[run][4].startswith("published")),
        "batches_refused": sum(1 for run in processed_runs if batches[run][4].startswith("refused")),
        "refusals": sorted(
            {batches[run][4].split(":")[1].strip() for run in processed_runs if batches[run][4].startswith("refused")}
        ),  # fmt: skip
    }


def launch_daily(root: Path) -> str:
    """Submit the `daily` job (queued, launched by the daemon) for the first replayed day, as the
    02:00 schedule would the morning after it."""
    day = json.loads((root.parent / "base" / "prepared.json").read_text())["cut"][:10]
    _dagster(root, "job", "launch", "-j", "daily", "--tags", json.dumps({"dagster/partition": day}))
    print(f"launched the daily run of {day}")
    return day


def daily_effect(root: Path, files: list[ReplayedFile]) -> dict:
    """Latency of the files that landed while the daily run was running, against the others."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_run_records(dg.RunsFilter(job_name="daily"), limit=1)
    start = datetime.fromtimestamp(record.start_time, UTC).replace(tzinfo=None)
    end = datetime.fromtimestamp(record.end_time, UTC).replace(tzinfo=None)
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        committed = dict(
            con.execute(
                "select l.file_path, b.finished_at from ingest.file_ledger as l"
                " inner join risk.intraday_batches as b on b.batch_id = l.run_id"
            ).fetchall()
        )
        reconciled = con.execute(
            "select count(*) from risk.enforcement_decisions where change_reason like '%reconciles the intraday%'"
        ).fetchone()[0]
    during = [
        (committed[f.path] - f.landed_at).total_seconds()
        for f in files
        if f.path in committed and start <= f.landed_at <= end
    ]
    other = [
        (committed[f.path] - f.landed_at).total_seconds()
        for f in files
        if f.path in committed and not start <= f.landed_at <= end
    ]
    return {
        "status": record.dagster_run.status.value,
        "seconds": round(record.end_time - record.start_time, 1),
        "files_landed_during": len(during),
        "latency_during_p50_s": _percentile(during, 0.5),
        "latency_during_max_s": max(during, default=None),
        "latency_other_p50_s": _percentile(other, 0.5),
        "intraday_rows_reconciled": reconciled,
    }


def score_days(root: Path, first: str, last: str) -> None:
    """What the daily runs would have done for the replayed days `first`..`last`: their feature
    days and scores (the `features_daily` and `score` jobs, in a subprocess on `root`)."""
    code = (
        "import dagster as dg\n"
        "from orchestration.definitions import defs\n"
        "instance = dg.DagsterInstance.get()\n"
        f"tags = {{'dagster/asset_partition_range_start': '{first}', 'dagster/asset_partition_range_end': '{last}'}}\n"
        "for job in ('features_daily', 'score'):\n"
        "    defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False, tags=tags)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(root), check=True, capture_output=True)


def score_shift(root: Path) -> dict:
    """Intraday scores against the end-of-day score of the same account and day: the last
    intraday score of each (account, day), and every intraday score. Bands are the model's on
    both sides: a row a rule moved to `review` was `allow` (`ml.score.rules`)."""
    model_band = f"case when reason_code_1 in ({rule_codes_sql()}) then 'allow' else band end"
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            f"""
            with intraday as (
                select account_id, as_of_date, score, features_ingested_through,
                    {model_band} as band,
                    row_number() over (partition by account_id, as_of_date
                        order by features_ingested_through desc) as newest
                from risk.intraday_scores
            )
            select intraday.newest = 1 as last_of_day, intraday.score as intraday_score,
                intraday.band as intraday_band, daily.score as daily_score, daily.band as daily_band
            from intraday
            inner join (
                select account_id, as_of_date, score, {model_band} as band from risk.account_risk_scores
            ) as daily using (account_id, as_of_date)
            """
        ).fetchall()

    def stats(selected: list[tuple]) -> dict:
        if not selected:
            return {"pairs": 0}
        shift = sorted(abs(r[1] - r[3]) for r in selected)
        flagged = [r for r in selected if r[2] != "allow"]
        return {
            "pairs": len(selected),
            "abs_shift_p50": _percentile(shift, 0.5),
            "abs_shift_p95": _percentile(shift, 0.95),
            "mean_shift": sum(r[1] - r[3] for r in selected) / len(selected),
            "same_band": sum(r[2] == r[4] for r in selected) / len(selected),
            "intraday_flagged": len(flagged),
            "intraday_flagged_confirmed": sum(r[4] != "allow" for r in flagged),
            "daily_flagged_missed_intraday": sum(r[4] != "allow" and r[2] == "allow" for r in selected),
        }

    return {"last_of_day": stats([r for r in rows if r[0]]), "all": stats(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="default: $VIGIL_DATA_DIR/live")
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second replayed")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between files")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to replay (0: until the queue is empty)")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hold-back-days", type=int, default=45)
    parser.add_argument("--watch", action="store_true", help="make live: print each batch as it finishes, no report")
    parser.add_argument("--prepare-only", action="store_true", help="build the base state and stop")
    parser.add_argument(
        "--daily-at",
        type=float,
        default=None,
        help="minutes into the replay: launch the `daily` job for the first replayed day (its latency effect)",
    )
    parser.add_argument(
        "--ui-port", type=int, default=None, help="also serve the Dagster UI (dagster dev) on this port"
    )
    args = parser.parse_args(argv)

    root = args.root or Path(os.environ.get("VIGIL_DATA_DIR", REPO / "data")) / "live"
    base, run = root / "base", root / "run"
    prepare(base, args.accounts, args.seed, args.hold_back_days)
    if args.prepare_only:
        return 0
    fresh_run(base, run)
    daemon = start(run, args.ui_port)
    if args.ui_port:
        print(f"Dagster UI (runs, sensor ticks) on http://127.0.0.1:{args.ui_port}")
    files: list[ReplayedFile] = []
    began = time.monotonic()
    seen: set[str] = set()
    shown = 0.0
    daily_day = None
    try:
        print(f"replaying {args.rate:g} events/s into {run / 'landing'}; Dagster home {run / 'dagster_home'}")
        for landed in replay(run / "queue", run / "landing", args.rate, args.every, args.minutes * 60 or None):
            files.append(landed)
            if args.daily_at is not None and daily_day is None and time.monotonic() - began >= args.daily_at * 60:
                daily_day = launch_daily(run)
            if args.watch and time.monotonic() - shown >= args.every:
                _print_finished(run, files, seen)
                shown = time.monotonic()
        progress = (lambda: _print_finished(run, files, seen)) if args.watch else (lambda: None)
        wait_idle(run, files[-1].landed_at if files else None, timeout=900, on_poll=progress)
    except KeyboardInterrupt:
        print("stopped")
    finally:
        stop(run, daemon)
    replayed_s = time.monotonic() - began
    if args.watch:
        _print_finished(run, files, seen)
        return 0
    days = _replayed_days(run, files)
    if days:
        score_days(run, days[0], days[-1])
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "make bench-live " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "rate_events_per_s": args.rate,
        "every_s": args.every,
        "replay_s": round(replayed_s, 1),
        "prepared": json.loads((base / "prepared.json").read_text()),
        **measure(run, files),
        "daily_run": daily_effect(run, files) if daily_day else None,
        "scored_days": days,
        "score_shift": score_shift(run),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"live-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.local.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))
    print(f"written to {out}")
    return 0


def _replayed_days(root: Path, files: list[ReplayedFile], most: int = 60) -> list[str]:
    """The days the replay completed (their rows loaded through the end of the day), at most
    `most`: the days whose intraday scores get an end-of-day score to compare with."""
    if not files:
        return []
    cut = datetime.fromisoformat(json.loads((root.parent / "base" / "prepared.json").read_text())["cut"])
    reached = max(f.loaded_to for f in files)
    days = [cut.date() + timedelta(days=i) for i in range(most)]
    return [str(day) for day in days if datetime.combine(day + timedelta(days=1), datetime.min.time()) <= reached]


def _print_finished(root: Path, files: list[ReplayedFile], seen: set[str]) -> None:
    """`make live`'s progress: each finished batch, with the landing-to-finish time of the files
    that landed before its run was created (read from the Dagster instance, not the warehouse,
    which the runs hold)."""
    from dagster import DagsterRunStatus

    for record in sorted(_runs(root), key=lambda r: r.create_timestamp):
        run = record.dagster_run
        if run.run_id in seen or run.status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE):
            continue
        seen.add(run.run_id)
        created = record.create_timestamp.replace(tzinfo=None) if record.create_timestamp.tzinfo is None else (
            record.create_timestamp.astimezone(UTC).replace(tzinfo=None))  # fmt: skip
        earlier = [f for f in files if f.landed_at <= created and f.path not in seen]
        seen.update(f.path for f in earlier)
        ended = datetime.fromtimestamp(record.end_time, UTC).replace(tzinfo=None) if record.end_time else None
        waits = [(ended - f.landed_at).total_seconds() for f in earlier] if ended else []
        print(
            f"{datetime.now():%H:%M:%S} batch {run.run_id[:8]} {run.status.value.lower():<7}"
            f" {sum(f.rows for f in earlier):>7,} events in {len(earlier):>3} files;"
            f" landed -> run finished: {min(waits, default=0):5.1f} .. {max(waits, default=0):5.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
