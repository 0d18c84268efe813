"""Scoring throughput with the champion model: `make bench-scoring` (after `make demo`).

Scores the latest as-of day of the demo warehouse (demo size) and ten days stacked (as many
account-days as one day at 10x the accounts), and reports each variant as a ratio to a bare
`inplace_predict` of the same booster on the same rows (a ready float32 matrix), measured in the
same run, interleaved, median of `--repeats`: scoring without reasons, and scoring as the daily
job does (reasons for the review/block accounts, TreeSHAP tables already built). Also the
one-off cost of building the TreeSHAP tables (once per loaded model), the Arrow-to-pandas
conversion of the feature rows, and, once on the demo day, reasons for every account and
XGBoost's own `pred_contribs` for every account (what reasons cost before). Then times
explaining one stored allow row on demand (model version loaded from the registry, as
`python -m ml.score.explain` does), writing the day to a scratch DuckDB copy of the scores
table, and the sync diff. Prints one JSON line per size; writes bench/results/scoring.local.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import xgboost as xgb

from ml import settings
from ml.registry import CHAMPION, ModelRegistry
from ml.score import store
from ml.score.checks import BANDS
from ml.score.explain import explain_scored
from ml.score.feature_rows import feature_frame
from ml.score.schema import SCORES_TABLE, risk_schema
from ml.score.scoring import REASON_BANDS, score_accounts
from ml.score.sync import diff_sync
from ml.train.treeshap import TreeShapTables
from ml.warehouse.duckdb_engine import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[1]
TARGET_WITH_REASONS = 3.0  # a day's scoring with reasons, at most this many bare predicts


def _features(warehouse: DuckDBWarehouse, days: int) -> tuple[pd.DataFrame, float]:
    """The latest `days` as-of days of the mart, as scoring reads them, and the seconds their
    Arrow-to-pandas conversion took."""
    with warehouse.session() as s:
        table = s.fetch_arrow(
            f"select * from {store.features_table()} where as_of_date in"
            f" (select distinct as_of_date from {store.features_table()} order by 1 desc limit {days})"
        )
    started = time.perf_counter()
    frame = feature_frame(table)
    return frame, time.perf_counter() - started


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _medians(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each variant, interleaved so that load from other processes hits all alike."""
    for work in variants.values():
        work()  # warm-up: thread pools, first-call allocations
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, work in variants.items():
            times[name].append(_seconds(work))
    return {name: statistics.median(values) for name, values in times.items()}


def _explain_one_allow_row(source: DuckDBWarehouse, registry: ModelRegistry) -> dict[str, object]:
    """Seconds to explain one stored allow row on demand, registry load included."""
    with source.session() as s:
        found = s.fetch_arrow(
            f"select as_of_date, account_id from {risk_schema()}.{SCORES_TABLE} where band = 'allow'"
            " order by as_of_date desc, score desc limit 1"
        ).to_pylist()
    if not found:
        return {"explain_one_allow_row_seconds": None}
    day, account = found[0]["as_of_date"], found[0]["account_id"]
    seconds = _seconds(lambda: explain_scored(source, registry, day, [account]))
    return {"explain_one_allow_row_seconds": round(seconds, 2)}


def _writes(scores: pd.DataFrame, now: datetime) -> dict[str, object]:
    """Writes and the sync diff for one day of this many accounts (stacked days relabelled)."""
    one_day = scores.assign(account_id=scores["account_id"] + "_" + scores["as_of_date"].astype(str))
    day = one_day["as_of_date"].max()
    one_day = one_day.assign(as_of_date=day)
    row: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = DuckDBWarehouse(Path(tmp) / "bench.duckdb")
        store.prepare(scratch)
        row["write_scores_seconds"] = round(_seconds(lambda: store.replace_scores(scratch, day, one_day)), 2)
        state = store.read_sync(scratch)
        started = time.perf_counter()
        diff = diff_sync(state.current, one_day, day, now, "bench")
        row["sync_diff_seconds"] = round(time.perf_counter() - started, 2)
        apply = lambda: store.apply_sync(scratch, diff, day, len(one_day), now, "bench", state)  # noqa: E731
        row["sync_apply_seconds"] = round(_seconds(apply), 2)
        row["rows_written"] = len(one_day)
    return row


def _measure(features: pd.DataFrame, model, policy, common: dict, repeats: int, all_reasons: bool) -> dict:
    """One size: the variants' medians and their ratios to the bare predict."""
    # The reference: the booster alone on a ready float32 matrix, nothing else.
    matrix = model.feature_matrix(features)
    trees = (0, model.best_iteration + 1)
    # Built once per loaded model (first reasons); the medians below run with them built.
    build_seconds = _seconds(lambda: TreeShapTables.build(model.booster, model.best_iteration + 1))

    def score(**options):
        return lambda: score_accounts(features, model, policy, **common, **options)

    medians = _medians(
        {
            "bare_predict": lambda: model.booster.inplace_predict(matrix, iteration_range=trees),
            "without_reasons": score(with_reasons=False),
            "with_reasons": score(),
        },
        repeats,
    )
    scores = score_accounts(features, model, policy, **common)
    row: dict[str, object] = {
        "account_days": len(features),
        "flagged": int(scores["band"].isin(REASON_BANDS).sum()),  # explained at scoring time
        "rows_with_reasons": int(scores["reason_code_1"].notna().sum()),
        "repeats": repeats,
        **{f"{name}_seconds": round(seconds, 4) for name, seconds in medians.items()},
    }
    bare = medians["bare_predict"]
    row["without_reasons_x_predict"] = round(medians["without_reasons"] / bare, 2)
    row["with_reasons_x_predict"] = round(medians["with_reasons"] / bare, 2)
    row["with_reasons_target_met"] = row["with_reasons_x_predict"] <= TARGET_WITH_REASONS
    row["shap_tables_build_seconds"] = round(build_seconds, 4)
    row["with_reasons_and_table_build_x_predict"] = round((medians["with_reasons"] + build_seconds) / bare, 2)
    if all_reasons:
        # Once each: far above the noise. Reasons for every account, and XGBoost's own TreeSHAP
        # for every account (what reasons for every account cost before the tables).
        all_seconds = _seconds(score(reason_bands=BANDS))
        row["all_reasons_seconds"] = round(all_seconds, 2)
        row["all_reasons_x_predict"] = round(all_seconds / bare, 1)
        dmatrix = xgb.DMatrix(matrix, feature_names=model.features)
        xgb_seconds = _seconds(lambda: model.booster.predict(dmatrix, pred_contribs=True, iteration_range=trees))
        row["xgboost_pred_contribs_all_seconds"] = round(xgb_seconds, 2)
        row["xgboost_pred_contribs_all_x_predict"] = round(xgb_seconds / bare, 1)
    row["accounts_per_s_with_reasons"] = round(len(features) / medians["with_reasons"])
    return {**row, **_writes(scores, common["scored_at"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, nargs="+", default=[1, 10], help="as-of days stacked per measurement")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per variant (median reported)")
    parser.add_argument(
        "--all-reasons-up-to", type=int, default=1, help="time reasons for every account up to this many days stacked"
    )
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
        features, to_pandas_seconds = _features(source, days)
        measured = _measure(
            features, champion.model, champion.policy, common, args.repeats, days <= args.all_reasons_up_to
        )
        row = {"days_stacked": days, "to_pandas_seconds": round(to_pandas_seconds, 4), **measured}
        results.append(row)
        print(json.dumps(row))
    explain = _explain_one_allow_row(source, registry)
    print(json.dumps(explain))
    machine = {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count()}
    out = ROOT / "bench" / "results" / "scoring.local.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"measured_at": now.isoformat(), **machine, "model_version": champion.version, "results": results}
    out.write_text(json.dumps({**payload, **explain}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
