"""Scoring throughput with the champion model: `make bench-scoring` (after `make demo`).

Scores one as-of day of the demo warehouse (demo size) and ten days stacked (as many
account-days as one day at 10x the accounts), with and without TreeSHAP reason codes; then
times writing the day to a scratch DuckDB copy of the scores table and the sync diff.
Prints a table and writes bench/results/scoring.local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ml import settings
from ml.registry import CHAMPION, ModelRegistry
from ml.score import store
from ml.score.scoring import score_accounts
from ml.score.sync import diff_sync
from ml.warehouse.duckdb_engine import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[1]


def _features(warehouse: DuckDBWarehouse, days: int) -> pd.DataFrame:
    with warehouse.session() as s:
        return s.fetch_arrow(
            "select * from marts.fct_account_features_daily where as_of_date in"
            f" (select distinct as_of_date from marts.fct_account_features_daily order by 1 desc limit {days})"
        ).to_pandas()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, nargs="+", default=[1, 10], help="as-of days stacked per measurement")
    args = parser.parse_args(argv)
    registry = ModelRegistry.from_env(settings.data_dir())
    champion = registry.load(CHAMPION)
    if champion is None:
        raise SystemExit(f"no champion in {registry.display_uri}: run `make demo` first")
    source = DuckDBWarehouse(settings.duckdb_path(), read_only=True)
    now = datetime.now(UTC).replace(tzinfo=None)
    common = dict(
        model_name=champion.name, model_version=champion.version, feature_version="bench", scored_at=now, run_id="bench"
    )
    results = []
    for days in args.days:
        features = _features(source, days)
        row = {"days_stacked": days, "account_days": len(features)}
        for with_reasons in (False, True):
            started = time.perf_counter()
            scores = score_accounts(features, champion.model, champion.policy, with_reasons=with_reasons, **common)
            seconds = time.perf_counter() - started
            key = "with_reasons" if with_reasons else "without_reasons"
            row[f"{key}_seconds"] = round(seconds, 2)
            row[f"{key}_accounts_per_s"] = round(len(features) / seconds)
        # Writes and the sync diff for one day of this many accounts (stacked days relabelled).
        one_day = scores.assign(account_id=scores["account_id"] + "_" + scores["as_of_date"].astype(str))
        day = one_day["as_of_date"].max()
        one_day = one_day.assign(as_of_date=day)
        with tempfile.TemporaryDirectory() as tmp:
            scratch = DuckDBWarehouse(Path(tmp) / "bench.duckdb")
            store.prepare(scratch)
            started = time.perf_counter()
            store.replace_scores(scratch, day, one_day)
            row["write_scores_seconds"] = round(time.perf_counter() - started, 2)
            state = store.read_sync(scratch)
            started = time.perf_counter()
            diff = diff_sync(state.current, one_day, day, now, "bench")
            row["sync_diff_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            store.apply_sync(scratch, diff, day, len(one_day), now, "bench", state.runs_applied)
            row["sync_apply_seconds"] = round(time.perf_counter() - started, 2)
            row["rows_written"] = len(one_day)
        results.append(row)
        print(json.dumps(row))
    machine = {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count()}
    out = ROOT / "bench" / "results" / "scoring.local.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"measured_at": now.isoformat(), **machine, "results": results}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
