"""Daily scoring with the `@champion` model, and the enforcement sync table built from it.

Thin adapters over `ml.score`: both assets are partitioned by as-of day like the feature mart,
so a backfill over a range from the UI rescores those days (and the sync applies only days at
or after its watermark: re-scoring history never rolls current decisions back).
"""

import json
import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from ml.score import checks, store
from ml.score.schema import RISK_SCHEMA, SCORES_TABLE, SYNC_TABLE
from ml.score.scoring import score_accounts
from ml.score.sync import diff_sync
from ml.warehouse import Role
from orchestration.defs.dbt.assets import FEATURES_MODEL, vigil_dbt_features_daily
from orchestration.defs.dbt.partitions import feature_days
from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.ml.assets import champion_model
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource

GROUP = "scoring"
SCORES_KEY = dg.AssetKey([RISK_SCHEMA, SCORES_TABLE])
SYNC_KEY = dg.AssetKey([RISK_SCHEMA, SYNC_TABLE])
SCORE_CHECKS = ("no_missing_scores", "scores_within_unit_interval", "population_matches_features")
BAND_CHECK = "band_rates_stable"


def feature_version() -> str:
    """dbt's checksum of the feature mart's SQL: which feature logic produced the inputs."""
    manifest = json.loads(vigil_dbt_project.manifest_path.read_text())
    node = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == FEATURES_MODEL)
    return f"{FEATURES_MODEL}@{node['checksum']['checksum'][:12]}"


def _days(context: dg.AssetExecutionContext) -> list[date]:
    keys = context.partition_key_range
    start, end = date.fromisoformat(keys.start), date.fromisoformat(keys.end)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class ScoringConfig(dg.Config):
    with_reasons: bool = True  # reason codes for review/block rows (the others: `python -m ml.score.explain`)


@dg.asset(
    key=SCORES_KEY,
    group_name=GROUP,
    kinds={"python", "xgboost"},
    partitions_def=feature_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=31),
    pool=WAREHOUSE_POOL,
    deps=[get_asset_key_for_model([vigil_dbt_features_daily], FEATURES_MODEL), champion_model],
    # Blocking: scores that fail a check never reach the enforcement sync.
    check_specs=[
        *(dg.AssetCheckSpec(name, asset=SCORES_KEY, blocking=True) for name in SCORE_CHECKS),
        dg.AssetCheckSpec(
            BAND_CHECK,
            asset=SCORES_KEY,
            blocking=True,
            description="Review/block rates vs the previous day: warns on a jump, fails (and stops the sync)"
            " on an implausible one.",
        ),
    ],
)
def account_risk_scores(
    context: dg.AssetExecutionContext, config: ScoringConfig, warehouse: WarehouseResource, mlflow: MlflowResource
):
    """Every account with a feature row on the day, scored by `models:/<name>@champion`:
    calibrated score, policy band, top 3 reasons. A re-run replaces the day."""
    registry = mlflow.registry()
    champion = registry.load("champion")
    if champion is None:
        raise dg.Failure(f"no `champion` version of {registry.model_name}: run the `retrain` job first")
    wh = warehouse.get(role=Role.SCORER)
    store.prepare(wh)
    version = feature_version()
    failures: dict[str, list[str]] = {name: [] for name in (*SCORE_CHECKS, BAND_CHECK)}
    implausible: list[str] = []
    rows, seconds, band_counts = 0, 0.0, {band: 0 for band in checks.BANDS}
    for day in _days(context):
        features = store.read_features(wh, day)
        if features.empty:
            # Scoring nothing would delete the day's scores and pass every check.
            raise dg.Failure(f"no feature rows for {day}: build {FEATURES_MODEL} for that day first")
        started = time.perf_counter()
        scores = score_accounts(
            features,
            champion.model,
            champion.policy,
            model_name=champion.name,
            model_version=champion.version,
            feature_version=version,
            scored_at=datetime.now(UTC).replace(tzinfo=None),
            run_id=context.run.run_id,
            with_reasons=config.with_reasons,
        )
        seconds += time.perf_counter() - started
        store.replace_scores(wh, day, scores)
        written = store.read_scores(wh, day)
        previous = store.read_scores(wh, day - timedelta(days=1))
        previous_rates = checks.band_rates(previous) if len(previous) else None
        today_rates = checks.band_rates(written)
        results = {
            "no_missing_scores": checks.no_missing_scores(written),
            "scores_within_unit_interval": checks.scores_within_unit_interval(written),
            "population_matches_features": checks.population_matches(written, len(features)),
            BAND_CHECK: checks.band_rates_stable(today_rates, previous_rates),
        }
        for name, (passed, detail) in results.items():
            if not passed:
                failures[name].append(f"{day}: {detail}")
        plausible, detail = checks.band_rates_stable(today_rates, previous_rates, checks.IMPLAUSIBLE_JUMP)
        if not plausible:
            implausible.append(f"{day}: {detail}")
        rows += len(written)
        for band, count in written["band"].value_counts().items():
            band_counts[band] += int(count)
    yield dg.MaterializeResult(
        asset_key=SCORES_KEY,
        metadata={
            "rows": rows,
            "model": f"{champion.name} v{champion.version}",
            "feature_version": version,
            "with_reasons": config.with_reasons,
            "accounts_per_second": round(rows / seconds, 1) if seconds else 0.0,
            **{f"{band}_rows": count for band, count in band_counts.items()},
        },
    )
    for name, failed in failures.items():
        # A band-rate jump is an alert for a human; only an implausible one stops the sync.
        severe = name != BAND_CHECK or bool(implausible)
        shown = implausible if name == BAND_CHECK and implausible else failed
        yield dg.AssetCheckResult(
            asset_key=SCORES_KEY,
            check_name=name,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if severe else dg.AssetCheckSeverity.WARN,
            metadata={"failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in shown[:50]) or "none")},
        )


@dg.asset(
    key=SYNC_KEY,
    group_name=GROUP,
    kinds={"python"},
    partitions_def=feature_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=31),
    pool=WAREHOUSE_POOL,
    deps=[account_risk_scores],
)
def enforcement_sync(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """One current row per account for reverse-ETL, changed only when its decision changes,
    tombstones for accounts that left the population, and the append-only decision history.
    Days before the sync's watermark (the last day applied) are skipped."""
    wh = warehouse.get(role=Role.SCORER)
    store.prepare(wh)
    applied, skipped, changed, tombstoned = [], [], 0, 0
    for day in _days(context):
        state = store.read_sync(wh)
        if state.last_day is not None and day < state.last_day:
            skipped.append(str(day))
            continue
        scores = store.read_scores(wh, day)
        if scores.empty:
            raise dg.Failure(f"no scores for {day}: materialize {SCORES_KEY.to_user_string()} for it first")
        now = datetime.now(UTC).replace(tzinfo=None)
        diff = diff_sync(state.current, scores, day, now, context.run.run_id)
        store.apply_sync(wh, diff, day, len(scores), now, context.run.run_id, state.runs_applied)
        applied.append(str(day))
        changed += diff.changed
        tombstoned += diff.tombstoned
    if skipped:
        context.log.info(f"skipped {len(skipped)} days before the sync watermark: {skipped[0]} .. {skipped[-1]}")
    return dg.MaterializeResult(
        metadata={
            "days_applied": len(applied),
            "days_skipped_before_watermark": len(skipped),
            "rows_changed": changed,
            "tombstones": tombstoned,
        }
    )
