"""How soon takeovers and stolen-card fraud are caught, near-real-time vs daily only, on the
simulator's ground truth: `make bench-catch` (after `make demo`; see BENCHMARKS.md).

Replaying the demo in real time would take its 273 days. Instead this computes, on a scratch
copy of the demo warehouse, each attacked account's intraday vector at every landing cut-off
that matters (the landing times of the rows that touch it, from a day before the attack until
the daily run catches it or `--horizon-days` pass), with the engine itself:

1. the attacks: takeovers and payment fraud starting after the champion's training block, except
   in its validation block (which chose the calibration and the thresholds), from the ground
   truth, each with its start, first and second order after the start;
2. daily only: the champion's bands on the demo mart's end-of-day rows of those accounts;
3. near-real-time: the rows touching those accounts landed from a day before the start are
   taken out of `raw` and staging and intermediate are built from scratch; then, rank by rank,
   each account's next landing time's rows go back in as a new ingestion, one incremental
   `dbt run` brings the tiles up to date (a late row re-opens its days, as in production), and
   the daily mart's SQL gives the vector of each account not caught yet, as of its cut-off's
   day (var `feature_accounts`), which the champion bands (the intraday rules too);
4. catch times (`ml/evaluate/catch_time.py`), near-real-time with the model's flags alone and
   with the intraday rules too (`ml/score/rules.py`), with the paths' latencies: the near-real-time
   path's landing-to-sync latency (`--nrt-latency-s`, from `make bench-live`) and the daily
   run's schedule (02:00 UTC for the day before) and duration (`--daily-run-s`).

Exact for each account's own rows (a row about two attacked accounts goes back at the later of
its two ranks); a vector also reads its linked accounts (links, their enforcement and
chargebacks), which stand at the same rank, not at the same instant. Catch times count the
intraday gate's wait for the day before's daily run and the daily run's reconciliation
(`ml/evaluate/catch_time.py`).
Results go to bench/results/catch-<stamp>.local.json.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from bench.daily import NOT_DAILY, ROOT, dbt_command
from ml.evaluate.catch_time import Paths, catch_times, summarise
from ml.registry import ModelRegistry
from ml.score.feature_rows import feature_frame
from ml.score.rules import DAILY_RULES, INTRADAY_RULES, matched
from ml.score.scoring import model_inputs

ATTACKS = ("account_takeover", "payment_fraud")
SCHEMA = "catch"

# Who each raw row is about: the account columns of its table, or of the order it refers to.
ACCOUNT_COLUMNS = {
    "accounts": ("account_id",),
    "logins": ("account_id",),
    "payment_methods": ("account_id",),
    "livestreams": ("seller_id",),
    "bids": ("bidder_id", "host_id"),
    "orders": ("buyer_id", "seller_id"),
    "refunds": ("buyer_id", "seller_id"),
    "chargebacks": ("buyer_id", "seller_id"),
    "user_reports": ("reporter_id", "reported_id"),
    "enforcement_actions": ("account_id",),
}
# Tables whose rows name their accounts through another table.
ORDER_PARTIES = "left join (select distinct order_id, buyer_id, seller_id from raw.orders) using (order_id)"
WITH_PARTIES = {
    "refunds": f"(select * from raw.refunds {ORDER_PARTIES})",
    "chargebacks": f"(select * from raw.chargebacks {ORDER_PARTIES})",
    "bids": "(select * from raw.bids left join (select distinct stream_id, seller_id as host_id"
    " from raw.livestreams) using (stream_id))",
}


def attacks(data_dir: Path, con: duckdb.DuckDBPyConnection, since: date, until: date) -> pd.DataFrame:
    """Takeovers and payment fraud starting in [since, until): account_id, abuse_type,
    started_at (the hijacking login; the fraudster's first order), first and second order after
    it."""
    truth = pd.read_parquet(data_dir / "ground_truth" / "accounts.parquet")
    truth = truth[
        truth["abuse_type"].isin(ATTACKS)
        & (truth["abuse_start_at"] >= pd.Timestamp(since))
        & (truth["abuse_start_at"] < pd.Timestamp(until))
    ][["account_id", "abuse_type", "abuse_start_at"]]
    con.register("truth", truth)
    frame = con.execute(
        """
        with orders as (
            select distinct truth.account_id, orders.order_id, orders.created_at
            from truth
            inner join raw.orders on orders.buyer_id = truth.account_id
                and orders.created_at >= truth.abuse_start_at
        ),
        ranked as (
            select account_id, created_at,
                row_number() over (partition by account_id order by created_at, order_id) as nth
            from orders
        )
        select truth.account_id, truth.abuse_type,
            case when truth.abuse_type = 'payment_fraud' then first_order.created_at
                else truth.abuse_start_at end as started_at,
            first_order.created_at as first_order_at,
            second_order.created_at as second_order_at
        from truth
        left join ranked as first_order on first_order.account_id = truth.account_id and first_order.nth = 1
        left join ranked as second_order on second_order.account_id = truth.account_id and second_order.nth = 2
        """
    ).df()
    con.unregister("truth")
    # A fraudster whose first order never landed has not started: nothing to catch.
    return frame[frame["started_at"].notna()].reset_index(drop=True)


def band_rows(rows: pd.DataFrame, registered) -> pd.DataFrame:
    """The champion's score of each feature row and whether its policy (with the daily rules,
    as the daily run bands) puts it in `review` or `block` (flagged)."""
    if rows.empty:
        return pd.DataFrame({"score": pd.Series(dtype=float), "flagged": pd.Series(dtype=bool)})
    probability = registered.model.predict_proba(model_inputs(rows, registered.model))
    flagged = registered.policy.band(probability, rows.get("is_seller"), matched(rows, DAILY_RULES)) != "allow"
    return pd.DataFrame({"score": probability, "flagged": flagged}, index=rows.index)


def daily_flags(con: duckdb.DuckDBPyConnection, cases: pd.DataFrame, horizon: int, registered) -> pd.DataFrame:
    """The champion's verdict on each attacked account's end-of-day rows, from the day before
    its start to `horizon` days after."""
    con.register("cases", cases[["account_id", "started_at"]])
    rows = feature_frame(
        con.sql(
            f"""
            select features.*
            from marts.fct_account_features_daily as features
            inner join cases on cases.account_id = features.account_id
                and features.as_of_date between cast(cases.started_at as date) - 1
                    and cast(cases.started_at as date) + {horizon}
            """
        ).to_arrow_table()
    )
    con.unregister("cases")
    return rows[["account_id", "as_of_date"]].assign(flagged=band_rows(rows, registered)["flagged"].to_numpy())


def hold_back(con: duckdb.DuckDBPyConnection, cases: pd.DataFrame) -> dict[str, int]:
    """Move the raw rows touching an attacked account, landed from a day before its start on,
    to schema `catch`, each with its rank (`_catch_rank`) among that account's landing times up
    to its horizon (null after it: never put back). Writes `catch.held_<table>` (row, account),
    `catch.cutoffs` (account_id, rank, cutoff) and returns the rows moved per table.

    A row about two attacked accounts (rare) counts as a landing for both, and goes back at the
    later of its two ranks: one account sees it at its own cut-off for it, the other a few
    ranks late, never early."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("cases_frame", cases[["account_id", "window_start", "horizon_end"]])
    con.execute(f"create or replace table {SCHEMA}.cases as select * from cases_frame")
    con.unregister("cases_frame")
    touched = []
    for table, columns in ACCOUNT_COLUMNS.items():
        source = WITH_PARTIES.get(table, f"raw.{table}")
        matches = " or ".join(f"cases.account_id = t.{c}" for c in columns)
        con.execute(
            f"""
            create or replace table {SCHEMA}.held_{table} as
            select distinct t._loaded_at as _catch_loaded_at, t._source_file as _catch_file,
                t._source_row as _catch_row, cases.account_id as _catch_account
            from {source} as t
            inner join {SCHEMA}.cases as cases on ({matches}) and t._loaded_at >= cases.window_start
            """
        )
        touched.append(f"select _catch_account as account_id, _catch_loaded_at as loaded_at from {SCHEMA}.held_{table}")
    con.execute(
        f"""
        create or replace table {SCHEMA}.cutoffs as
        select landed.account_id, row_number() over (partition by landed.account_id order by landed.loaded_at) as rank,
            landed.loaded_at as cutoff
        from (select distinct * from ({" union all ".join(touched)})) as landed
        inner join {SCHEMA}.cases as cases using (account_id)
        where landed.loaded_at < cases.horizon_end
        """
    )
    moved = {}
    for table in ACCOUNT_COLUMNS:
        con.execute(
            f"""
            create or replace table {SCHEMA}.rows_{table} as
            with ranked as (
                select held._catch_file, held._catch_row, max(cutoffs.rank) as _catch_rank
                from {SCHEMA}.held_{table} as held
                left join {SCHEMA}.cutoffs as cutoffs
                    on cutoffs.account_id = held._catch_account and cutoffs.cutoff = held._catch_loaded_at
                group by held._catch_file, held._catch_row
            )
            select raw_rows.*, ranked._catch_rank
            from raw.{table} as raw_rows
            inner join ranked on ranked._catch_file = raw_rows._source_file and ranked._catch_row = raw_rows._source_row
            """
        )
        con.execute(
            f"delete from raw.{table} using {SCHEMA}.rows_{table} as held"
            f" where {table}._source_file = held._source_file and {table}._source_row = held._source_row"
        )
        moved[table] = con.execute(f"select count(*) from {SCHEMA}.rows_{table}").fetchall()[0][0]
    return moved


def put_back(con: duckdb.DuckDBPyConnection, rank: int, ingested_at: datetime) -> None:
    """Append the held rows of landing rank `rank` to `raw` as one new ingestion."""
    for table in ACCOUNT_COLUMNS:
        con.execute(
            f"insert into raw.{table} select * exclude (_catch_rank) replace (cast(? as timestamp) as _ingested_at)"
            f" from {SCHEMA}.rows_{table} where _catch_rank = ?",
            [ingested_at, rank],
        )


def points(con: duckdb.DuckDBPyConnection, rank: int, caught: set[str]) -> pd.DataFrame:
    """The accounts still open at `rank`, each with its cut-off."""
    frame = con.execute(f"select account_id, cutoff from {SCHEMA}.cutoffs where rank = ?", [rank]).df()
    return frame[~frame["account_id"].isin(caught)].reset_index(drop=True)


def engine_run(scratch: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(dbt_command(scratch, "run", *args), env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"dbt run failed:\n{done.stdout[-4000:]}")


def vectors(path: Path, scratch: Path, env: dict[str, str], due: pd.DataFrame) -> pd.DataFrame:
    """The engine's incremental run over what `raw` now holds, then the mart's rows of `due`'s
    accounts as of their cut-offs' days."""
    with duckdb.connect(str(path)) as con:
        con.register("due_frame", due[["account_id"]])
        con.execute(f"create or replace table {SCHEMA}.due as select distinct account_id from due_frame")
    days = pd.to_datetime(due["cutoff"]).dt.date
    asked = {"min_date": str(days.min()), "max_date": str(days.max()), "feature_accounts": f"{SCHEMA}.due"}
    engine_run(scratch, env, "--exclude", *NOT_DAILY, "--vars", json.dumps(asked))
    with duckdb.connect(str(path), read_only=True) as con:
        con.register("due_frame", due.assign(as_of_date=days))
        rows = feature_frame(
            con.sql(
                """
                select due_frame.cutoff, features.*
                from marts.fct_account_features_daily as features
                inner join due_frame using (account_id, as_of_date)
                """
            ).to_arrow_table()
        )
    return rows


def parity(data_dir: Path, path: Path, vectors_seen: pd.DataFrame) -> dict:
    """The harness's own check: a vector computed after the last of its account's rows of the
    day landed must equal the demo mart's end-of-day row, column for column (only its linked
    accounts' rows of the day, which stand at the same rank, could make it differ)."""
    with duckdb.connect(str(path), read_only=True) as con:
        later = con.execute(
            " union all ".join(
                f"select _catch_account as account_id, _catch_loaded_at as loaded_at from {SCHEMA}.held_{t}"
                for t in ACCOUNT_COLUMNS
            )
        ).df()
    last = vectors_seen.merge(later, on="account_id", how="left")
    same_day_later = (last["loaded_at"] > last["cutoff"]) & (
        pd.to_datetime(last["loaded_at"]).dt.date == pd.to_datetime(last["cutoff"]).dt.date
    )
    open_day = last.loc[same_day_later, ["account_id", "cutoff"]].drop_duplicates()
    complete = vectors_seen.merge(open_day, on=["account_id", "cutoff"], how="left", indicator=True)
    complete = complete[complete["_merge"] == "left_only"].drop(columns=["_merge", "cutoff"])
    complete = complete.drop_duplicates(["account_id", "as_of_date"], keep="last")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.register("keys", complete[["account_id", "as_of_date"]])
        daily = feature_frame(
            con.sql(
                "select features.* from marts.fct_account_features_daily as features"
                " inner join keys using (account_id, as_of_date)"
            ).to_arrow_table()
        )
    columns = [c for c in daily.columns if c not in ("account_id", "as_of_date")]
    pair = complete.merge(daily, on=["account_id", "as_of_date"], suffixes=("", "_daily"))
    differs = pd.DataFrame(
        {c: ~((pair[c] == pair[f"{c}_daily"]) | (pair[c].isna() & pair[f"{c}_daily"].isna())) for c in columns}
    )
    by_column = differs.sum()
    return {
        "vectors_after_the_days_last_row": len(pair),
        "equal_to_the_daily_mart": int((~differs.any(axis=1)).sum()),
        "columns_differing": {c: int(n) for c, n in by_column[by_column > 0].sort_values(ascending=False).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VIGIL_DATA_DIR", ROOT / "data")))
    parser.add_argument("--since", type=date.fromisoformat, help="first attack day (default: after the training block)")
    parser.add_argument("--horizon-days", type=int, default=7, help="how long after its start an attack is followed")
    parser.add_argument(
        "--nrt-latency-s",
        type=float,
        nargs="+",
        default=[133.0, 20.0],
        help="landing -> sync of the near-real-time path, one summary each (bench-live p50 now; the target)",
    )
    parser.add_argument("--daily-run-s", type=float, default=71.0, help="the daily run's duration (bench-live)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch warehouse")
    args = parser.parse_args(argv)

    data_dir = args.data_dir.resolve()
    split = json.loads((data_dir / "ml" / "training_set" / "training_set.json").read_text())["split"]
    since = args.since or date.fromisoformat(split["train_end"]) + timedelta(days=1)
    # The validation block chose the calibration and the policy's thresholds: not out of sample.
    validation = (date.fromisoformat(split["validation_start"]), date.fromisoformat(split["validation_end"]))
    registered = ModelRegistry.from_env(data_dir).load_champion()
    began = time.monotonic()

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        last_day = con.execute("select max(as_of_date) from marts.fct_account_features_daily").fetchall()[0][0]
        cases = attacks(data_dir, con, since, last_day - timedelta(days=args.horizon_days))
        in_validation = cases["started_at"].dt.date.between(*validation)
        cases = cases[~in_validation].reset_index(drop=True)
        daily = daily_flags(con, cases, args.horizon_days, registered)
    daily_run = timedelta(seconds=args.daily_run_s)
    no_intraday = pd.DataFrame({"account_id": [], "cutoff": pd.to_datetime([]), "flagged": []})
    daily_only = catch_times(cases, daily, no_intraday, Paths(nrt_latency=timedelta(0), daily_run=daily_run))
    horizon = cases["started_at"] + timedelta(days=args.horizon_days)
    # Past the daily run's catch the near-real-time path cannot be earlier: no need to follow.
    cases = cases.assign(
        window_start=cases["started_at"] - timedelta(days=1),
        horizon_end=daily_only["daily_caught_at"].fillna(horizon).clip(upper=horizon),
    )
    print(f"{len(cases)} attacks since {since}: {cases['abuse_type'].value_counts().to_dict()}", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="vigil-catch-"))
    path = scratch / "warehouse.duckdb"
    env = {**os.environ, "VIGIL_DATA_DIR": str(scratch), "VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"}
    try:
        shutil.copy(data_dir / "warehouse.duckdb", path)
        with duckdb.connect(str(path)) as con:
            moved = hold_back(con, cases)
            ranks = con.execute(f"select max(rank) from {SCHEMA}.cutoffs").fetchall()[0][0] or 0
            shared = con.execute(
                " union all ".join(
                    f"select count(*) from (select 1 from {SCHEMA}.held_{t} group by _catch_file, _catch_row"
                    " having count(*) > 1)"
                    for t in ACCOUNT_COLUMNS
                )
            ).fetchall()
        shared = sum(n for (n,) in shared)
        print(f"held back {sum(moved.values()):,} rows ({moved}); {ranks} landing ranks", flush=True)
        seen, caught, dbt_seconds = [], set(), []
        # Staging and intermediate from scratch without the held rows (raw rows were deleted).
        # No vectors at the windows' start: the path scores an account when one of its rows
        # lands, and the daily runs speak for the time before.
        started = time.monotonic()
        engine_run(scratch, env, "--full-refresh", "--exclude", *NOT_DAILY, "fct_account_features_daily")
        rebuild_s = time.monotonic() - started
        for rank in range(1, ranks + 1):
            with duckdb.connect(str(path)) as con:
                put_back(con, rank, datetime(2030, 1, 1) + timedelta(seconds=rank))
                due = points(con, rank, caught)
            if due.empty:
                continue
            started = time.monotonic()
            rows = vectors(path, scratch, env, due)
            dbt_seconds.append(time.monotonic() - started)
            rows[["score", "flagged"]] = band_rows(rows, registered)
            seen.append(rows)
            caught |= set(rows.loc[rows["flagged"], "account_id"])
            print(f"rank {rank}: {len(due)} open, {len(rows)} vectors, {len(caught)} caught", flush=True)
        seen = pd.concat(seen, ignore_index=True)
        checked = parity(data_dir, path, seen.drop(columns=["score", "flagged"]))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    # The intraday rules can only flag earlier: the accounts were followed until the model flagged.
    ruled = matched(seen, INTRADAY_RULES)
    flags = {
        "model": seen[["account_id", "cutoff", "flagged"]],
        "model and intraday rules": seen[["account_id", "cutoff"]].assign(flagged=seen["flagged"].to_numpy() | ruled),
    }
    results = {
        (what, latency): catch_times(
            cases, daily, intraday, Paths(nrt_latency=timedelta(seconds=latency), daily_run=daily_run)
        )
        for what, intraday in flags.items()
        for latency in args.nrt_latency_s
    }
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "make bench-catch " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "model_version": registered.version,
        "since": str(since),
        "left_out_validation_block": [str(d) for d in validation],
        "attacks": cases["abuse_type"].value_counts().to_dict(),
        "rows_touching_two_attacked_accounts": shared,
        "horizon_days": args.horizon_days,
        "daily_run": {"at": "02:00 UTC, for the day before", "duration_s": args.daily_run_s},
        "rows_held_back": moved,
        "ranks": ranks,
        "rebuild_s": round(rebuild_s, 1),
        "dbt_run_s_median": round(sorted(dbt_seconds)[len(dbt_seconds) // 2], 1) if dbt_seconds else None,
        "seconds": round(time.monotonic() - began, 1),
        "parity": checked,
        "summary": {
            f"near-real-time flags: {what}; latency {latency:g} s": summarise(result)
            for (what, latency), result in results.items()
        },
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"catch-{stamp}.local.json").write_text(json.dumps(report, indent=2, default=str))
    results["model and intraday rules", args.nrt_latency_s[0]].to_csv(out / f"catch-{stamp}.local.csv", index=False)
    seen.to_parquet(out / f"catch-{stamp}-vectors.local.parquet", index=False)
    print(json.dumps(report, indent=2, default=str))
    print(f"written to {out / f'catch-{stamp}.local.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
