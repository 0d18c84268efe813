"""The daily run of the incremental feature engine, against reference passes on the same data:
`make bench-daily` (part of `make bench`; see BENCHMARKS.md).

For each scenario (accounts, months of history) on a scratch data folder:
1. simulate the marketplace and ingest every landing file;
2. hold out the rows loaded on the last day (the day the daily run is for), build staging and
   intermediate from scratch and the feature day before (the warehouse as of yesterday);
3. put the held-out rows back as a new ingestion and time the daily run: one `dbt run` of
   staging, intermediate and the feature mart for the last day (incremental models process
   only what the new ingestion brought), run as a Dagster run runs it, in a process that has
   imported dbt (the command's seconds; the process's wall, CPU and peak memory too);
4. time the reference: one DuckDB query over the staged events of the last day's trailing 90
   days computing 40 windowed aggregates for every account active in them.
Steps 3 and 4 run `--repeats` times (3), each daily run from a copy of the same warehouse and
dbt state, written to disk before the clock starts (`os.sync`), and the median is kept: this
machine's speed drifts (the same 9-month daily run took 9.4 s and 11.4 s half an hour apart).

Ratios are measured in the same run: daily / reference per scenario, 18 months / 9 months of
history (same accounts), 10x accounts / 1x. Results go to bench/results/daily-<stamp>.local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from ml.contract import TABLES
from orchestration.defs.dbt.invocation import feature_days_env

ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")
HOLDOUT_SCHEMA = "bench_holdout"

# Not part of the daily run: the labels (rebuilt whole, on their own) and the near-real-time models.
NOT_DAILY = ("fct_account_labels_daily", "tag:near_real_time")
# The data tests a daily job's build runs after its models (dbt's unit tests are not data tests).
DATA_TESTS = ("test", "--exclude", *NOT_DAILY, "--resource-type", "test")
# The same tests reading every row, as every test did before dbt_project/macros/tested_rows.sql.
ALL_ROWS = ("--vars", "{test_all_rows: true}")


@dataclass(frozen=True)
class Timed:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float


@dataclass(frozen=True)
class DailyRun:
    accounts: int
    history_start: str
    day: str
    raw_rows: int
    rows_held_out: int
    feature_rows: int
    initial_build: Timed
    daily_run: Timed  # the process: starting Python and importing dbt, then the command
    daily_run_dbt_s: float  # the dbt command alone, as a run's process pays it (median repeat)
    daily_run_dbt_s_each: list[float]  # every repeat's, in order
    daily_run_model_seconds: float
    # Each model's seconds in the daily run, slowest first: where the time goes.
    daily_run_models: dict[str, float]
    # The day's data tests after the run (the median repeat's): the dbt command, and the sum of
    # the tests' own seconds; as they run (the rows written since each passed, the day's
    # features), and reading all rows (`test_all_rows`, the way every test ran before).
    daily_tests_dbt_s: float
    daily_tests_seconds: float
    all_rows_tests_dbt_s: float
    all_rows_tests_seconds: float
    reference: Timed
    reference_query_s: float


def _timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[Timed, str]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS of one process (GNU time)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", out.name, "-f", "%U %S %M", *cmd],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        user, system, peak_kib = out.read().strip().splitlines()[-1].split()
    return Timed(round(wall, 2), round(float(user) + float(system), 2), round(int(peak_kib) / 1024)), done.stdout


def dbt_command(scratch: Path, *args: str) -> list[str]:
    return [
        DBT,
        "--no-use-colors",
        *args,
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        "dbt_project",
        "--target-path",
        str(scratch / "dbt_target"),
        "--log-path",
        str(scratch / "dbt_logs"),
    ]


def _hold_out(path: Path, day: date) -> int:
    """Move the raw rows loaded on `day` or later into a side schema; return how many."""
    moved = 0
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema if not exists {HOLDOUT_SCHEMA}")
        for table in TABLES:
            con.execute(
                f"create or replace table {HOLDOUT_SCHEMA}.{table} as select * from raw.{table} where _loaded_at >= ?",
                [day],
            )
            moved += con.execute(f"select count(*) from {HOLDOUT_SCHEMA}.{table}").fetchone()[0]
            con.execute(f"delete from raw.{table} where _loaded_at >= ?", [day])
    return moved


def _restore(path: Path, ingested_at: datetime) -> None:
    """Put the held-out rows back as one new ingestion (a later `_ingested_at`)."""
    with duckdb.connect(str(path)) as con:
        for table in TABLES:
            con.execute(
                f"insert into raw.{table} select * replace (cast(? as timestamp) as _ingested_at)"
                f" from {HOLDOUT_SCHEMA}.{table}",
                [ingested_at],
            )
            con.execute(f"drop table {HOLDOUT_SCHEMA}.{table}")


REFERENCE_SQL = """
with
days as (select cast(? as date) as as_of_date),
events as (
    select account_id, cast(greatest(occurred_at, first_loaded_at) as date) as day,
        case when is_successful then 'login' else 'failed_login' end as kind, 0 as amount
    from staging.stg_marketplace__logins
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select buyer_id, cast(greatest(created_at, first_loaded_at) as date), 'order', amount_usd
    from staging.stg_marketplace__orders
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select seller_id, cast(greatest(created_at, first_loaded_at) as date), 'sale', amount_usd
    from staging.stg_marketplace__orders
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select bidder_id, cast(greatest(occurred_at, first_loaded_at) as date), 'bid', amount_usd
    from staging.stg_marketplace__bids
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select account_id, cast(greatest(added_at, first_loaded_at) as date), 'card', 0
    from staging.stg_marketplace__payment_methods
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select seller_id, cast(greatest(started_at, first_loaded_at) as date), 'stream', 0
    from staging.stg_marketplace__livestreams
    where first_loaded_at >= cast(? as date) - interval 91 day
    union all
    select reported_id, cast(greatest(occurred_at, first_loaded_at) as date), 'report', 0
    from staging.stg_marketplace__user_reports
    where first_loaded_at >= cast(? as date) - interval 91 day
),
windowed as (
    select events.*, days.as_of_date - events.day as age
    from events cross join days
    where events.day between days.as_of_date - 89 and days.as_of_date
)
select
    account_id,
    count(distinct day) as active_days_90d,
    count(distinct case when age < 30 then day end) as active_days_30d,
    {aggregates}
from windowed
group by account_id
"""


def _reference_aggregates() -> str:
    aggregates = []
    for kind in ("login", "failed_login", "order", "sale", "bid", "card", "stream", "report"):
        for days in (1, 7, 30, 90):
            if len(aggregates) < 32:
                aggregates.append(f"count(case when kind = '{kind}' and age < {days} then 1 end) as {kind}_{days}d")
    for kind in ("order", "sale", "bid"):
        for days in (7, 30):
            aggregates.append(f"sum(case when kind = '{kind}' and age < {days} then amount end) as {kind}_usd_{days}d")
    return ",\n    ".join(aggregates)


REFERENCE_RUNNER = """
import sys, time, duckdb
path, day, memory, threads = sys.argv[1:5]
sql = sys.stdin.read()
con = duckdb.connect(path, read_only=True, config={"memory_limit": memory, "threads": int(threads)})
con.execute("set enable_progress_bar = false")
started = time.perf_counter()
rows = len(con.execute(sql, [day] * 8).fetchall())
print(rows, time.perf_counter() - started)
"""


def _reference(path: Path, day: date, env: dict[str, str]) -> tuple[Timed, float, int]:
    sql = REFERENCE_SQL.format(aggregates=_reference_aggregates())
    memory, threads = env.get("VIGIL_DUCKDB_MEMORY_LIMIT", "4GB"), env.get("VIGIL_DUCKDB_THREADS", "2")
    cmd = [sys.executable, "-c", REFERENCE_RUNNER, str(path), str(day), memory, threads]
    timed, stdout = _timed(cmd, env, stdin=sql)
    rows, query_s = stdout.strip().splitlines()[-1].split()
    return timed, round(float(query_s), 2), int(rows)


def _command_seconds(stdout: str) -> float:
    """The seconds bench/dbt_in_process.py printed for its dbt command."""
    return json.loads(stdout.strip().splitlines()[-1])["seconds"]


def _model_seconds(scratch: Path) -> dict[str, float]:
    results = json.loads((scratch / "dbt_target" / "run_results.json").read_text())["results"]
    seconds = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results}
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def daily_run(accounts: int, start: date, end: date, scratch: Path, env: dict[str, str], repeats: int = 3) -> DailyRun:
    """Simulate, ingest, build the warehouse as of the day before `end`, then time the daily
    run for `end` and the reference query on the same data, each `repeats` times (the median)."""
    env = {**env, "VIGIL_DATA_DIR": str(scratch), "VIGIL_DUCKDB_PATH": str(scratch / "warehouse.duckdb")}
    env["VIGIL_DBT_TARGET"] = "local"
    path = scratch / "warehouse.duckdb"
    simulate = [sys.executable, "-m", "ml.simulate", "--accounts", str(accounts), "--start", str(start)]
    _timed([*simulate, "--end", str(end)], env)
    ingest = (
        "from datetime import datetime; from ml import settings; from ml.ingest.load import ingest_landing;"
        " from ml.warehouse import Role, warehouse_from_env;"
        " ingest_landing(warehouse_from_env(role=Role.LOADER), settings.landing_dir(), run_id='bench',"
        " now=datetime(2030, 1, 1))"
    )
    _timed([sys.executable, "-c", ingest], env)
    with duckdb.connect(str(path), read_only=True) as con:
        raw_rows = sum(con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in TABLES)
    held = _hold_out(path, end)
    # The days go to dbt as the Dagster feature build passes them (in the environment, see
    # orchestration/defs/dbt/invocation.py): the daily run starts from the initial build's parse.
    yesterday = feature_days_env(str(end - timedelta(days=1)), str(end - timedelta(days=1)))
    # With its data tests: each test's mark is where yesterday's build left it (tested_rows.sql).
    initial, _ = _timed(dbt_command(scratch, "build", "--exclude", *NOT_DAILY, "--resource-type", "model",
                             "--resource-type", "seed", "--resource-type", "test"), {**env, **yesterday})  # fmt: skip
    _restore(path, datetime(2030, 1, 2))
    today = feature_days_env(str(end), str(end))
    # As a Dagster run runs it: in a process that has imported dbt already (bench/dbt_in_process.py).
    in_process = [sys.executable, "-m", "bench.dbt_in_process"]
    command = [*in_process, *dbt_command(scratch, "run", "--exclude", *NOT_DAILY)]
    tests = [*in_process, *dbt_command(scratch, *DATA_TESTS)]
    # Each repeat starts from the same warehouse and dbt state (its saved parse): a copy of both.
    before = scratch / "before_daily_run"
    shutil.copytree(scratch / "dbt_target", before / "dbt_target")
    shutil.copy2(path, before / path.name)
    dailies = []
    for attempt in range(repeats):
        if attempt:
            shutil.rmtree(scratch / "dbt_target")
            shutil.copytree(before / "dbt_target", scratch / "dbt_target")
            shutil.copy2(before / path.name, path)
            # A closed DuckDB file has no write-ahead log; a stale one would replay onto the copy.
            path.with_name(path.name + ".wal").unlink(missing_ok=True)
        # The copy's gigabytes are still being written back to disk: without this, the run's
        # first checkpoint (its fsync) waits for them, a cost a real daily run never pays.
        os.sync()
        daily, stdout = _timed(command, {**env, **today})
        run_s, models = _command_seconds(stdout), _model_seconds(scratch)
        _, stdout = _timed(tests, {**env, **today})
        tested = (_command_seconds(stdout), round(sum(_model_seconds(scratch).values()), 2))
        _, stdout = _timed([*tests, *ALL_ROWS], {**env, **today})
        tested_all = (_command_seconds(stdout), round(sum(_model_seconds(scratch).values()), 2))
        dailies.append((daily, run_s, models, tested, tested_all))
    shutil.rmtree(before)
    # The median repeat by the command's seconds: this machine's speed drifts from minute to minute.
    daily, dbt_seconds, models, tested, tested_all = sorted(dailies, key=lambda run: run[1])[len(dailies) // 2]
    with duckdb.connect(str(path), read_only=True) as con:
        feature_rows = con.execute(
            "select count(*) from marts.fct_account_features_daily where as_of_date = ?", [end]
        ).fetchone()[0]
    references = sorted((_reference(path, end, env) for _ in range(repeats)), key=lambda ref: ref[1])
    reference, query_s, _ = references[len(references) // 2]
    return DailyRun(
        accounts=accounts,
        history_start=str(start),
        day=str(end),
        raw_rows=raw_rows,
        rows_held_out=held,
        feature_rows=feature_rows,
        initial_build=initial,
        daily_run=daily,
        daily_run_dbt_s=dbt_seconds,
        daily_run_dbt_s_each=[run[1] for run in dailies],
        daily_run_model_seconds=round(sum(models.values()), 2),
        daily_run_models=models,
        daily_tests_dbt_s=tested[0],
        daily_tests_seconds=tested[1],
        all_rows_tests_dbt_s=tested_all[0],
        all_rows_tests_seconds=tested_all[1],
        reference=reference,
        reference_query_s=query_s,
    )


def _months_before(end: date, months: int) -> date:
    """The first day of the month `months` months before the one after `end`."""
    first = date(end.year, end.month, 1)
    month = first.month - months + 1
    year = first.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20_000, help="the 1x size")
    parser.add_argument("--growth", type=int, default=10, help="the larger size is this many times --accounts")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 9, 30), help="the daily run's day")
    parser.add_argument("--months", type=int, nargs=2, default=[9, 18], help="short and long history")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data folders")
    parser.add_argument("--repeats", type=int, default=3, help="daily runs and reference queries per scenario (median)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if not Path("/usr/bin/time").exists():
        raise SystemExit("the benchmark measures CPU and peak memory with GNU time: apt-get install time")

    short, long = args.months
    scenarios = {
        f"{args.accounts} accounts, {short} months": (args.accounts, short),
        f"{args.accounts} accounts, {long} months": (args.accounts, long),
        f"{args.accounts * args.growth} accounts, {short} months": (args.accounts * args.growth, short),
    }
    runs: dict[str, DailyRun] = {}
    for name, (accounts, months) in scenarios.items():
        scratch = Path(tempfile.mkdtemp(prefix=f"vigil-daily-{accounts}-{months}m-"))
        try:
            run = daily_run(
                accounts, _months_before(args.end, months), args.end, scratch, dict(os.environ), args.repeats
            )
        finally:
            if not args.keep:
                shutil.rmtree(scratch, ignore_errors=True)
        runs[name] = run
        print(
            f"{name:<32} daily run {run.daily_run_dbt_s:7.1f} s in dbt (each: {run.daily_run_dbt_s_each};"
            f" median {run.daily_run.wall_s:.1f} s process wall,"
            f" {run.daily_run.cpu_s:.1f} s CPU)"
            f" ({run.daily_run_model_seconds:.1f} s in models), peak {run.daily_run.peak_rss_mib:.0f} MiB;"
            f" its data tests {run.daily_tests_dbt_s:.1f} s in dbt ({run.daily_tests_seconds:.1f} s in tests),"
            f" reading all rows {run.all_rows_tests_dbt_s:.1f} s ({run.all_rows_tests_seconds:.1f} s);"
            f" reference {run.reference_query_s:.2f} s query, {run.reference.wall_s:.1f} s wall;"
            f" {run.feature_rows:,} feature rows",
            flush=True,
        )

    names = list(scenarios)
    base, deep, wide = (runs[n] for n in names)
    ratios = {
        "daily / reference, wall (per scenario)": {
            n: round(r.daily_run.wall_s / r.reference.wall_s, 2) for n, r in runs.items()
        },
        "daily dbt command / reference query (per scenario)": {
            n: round(r.daily_run_dbt_s / r.reference_query_s, 2) for n, r in runs.items()
        },
        "daily run + its data tests, dbt commands / reference query (per scenario)": {
            n: round((r.daily_run_dbt_s + r.daily_tests_dbt_s) / r.reference_query_s, 2) for n, r in runs.items()
        },
        "the same with tests reading all rows (per scenario)": {
            n: round((r.daily_run_dbt_s + r.all_rows_tests_dbt_s) / r.reference_query_s, 2) for n, r in runs.items()
        },
        f"data tests' seconds, {long} months / {short} months (as run, reading all rows)": (
            round(deep.daily_tests_seconds / base.daily_tests_seconds, 2),
            round(deep.all_rows_tests_seconds / base.all_rows_tests_seconds, 2),
        ),
        "daily models / reference query (per scenario)": {
            n: round(r.daily_run_model_seconds / r.reference_query_s, 2) for n, r in runs.items()
        },
        f"{long} months / {short} months (wall, CPU)": (
            round(deep.daily_run.wall_s / base.daily_run.wall_s, 2),
            round(deep.daily_run.cpu_s / base.daily_run.cpu_s, 2),
        ),
        f"{args.growth}x accounts / 1x (wall, CPU)": (
            round(wide.daily_run.wall_s / base.daily_run.wall_s, 2),
            round(wide.daily_run.cpu_s / base.daily_run.cpu_s, 2),
        ),
    }
    for what, value in ratios.items():
        print(f"{what}: {value}")

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "when": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "command": "python -m bench.daily " + " ".join(argv or sys.argv[1:]),
        "duckdb": {
            "memory_limit": os.environ.get("VIGIL_DUCKDB_MEMORY_LIMIT", "4GB"),
            "threads": os.environ.get("VIGIL_DUCKDB_THREADS", str(os.cpu_count())),
        },
        "runs": {n: asdict(r) for n, r in runs.items()},
        "ratios": ratios,
    }
    (out / f"daily-{stamp}.local.json").write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
