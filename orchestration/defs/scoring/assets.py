"""Daily scoring with the verified `@champion` model, and the enforcement sync table built from it.

Thin adapters over `ml.score`: both assets are partitioned by as-of day like the feature mart.
A run owns its days (`ml.score.leases`) from before its first score write until after its sync;
scoring records the publication gate's checks for every day it wrote, and the sync applies a
day only through `ml.score.publish` (the gate lives there, not only in these asset checks).
"""

import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import yaml
from dagster_dbt import get_asset_key_for_model

from ml import settings
from ml.features.version import feature_version as versioned_features
from ml.monitor.drift import drift_checks
from ml.monitor.thresholds import MonitorThresholds
from ml.registry import UngatedChampionError
from ml.score import leases, publication, store
from ml.score.checks import BANDS, CheckResult
from ml.score.publish import Override, PublicationRefusedError, publish_days
from ml.score.schema import RISK_SCHEMA, SCORES_TABLE, SYNC_TABLE
from ml.score.scoring import score_accounts
from ml.score.thresholds import PublicationThresholds
from ml.warehouse import Role
from orchestration.defs.dbt.assets import FEATURES_MODEL, vigil_dbt_features_daily
from orchestration.defs.dbt.partitions import feature_days
from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.ml.assets import champion_model
from orchestration.defs.monitoring.drift import DRIFT_CHECKS, DriftMonitor, drift_check_results
from orchestration.defs.monitoring.report import write_reports
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource

GROUP = "scoring"
SCORES_KEY = dg.AssetKey([RISK_SCHEMA, SCORES_TABLE])
SYNC_KEY = dg.AssetKey([RISK_SCHEMA, SYNC_TABLE])
# The gate's recorded checks, grouped into the asset checks the UI shows.
DATA_CHECK = "raw_data_complete"
BAND_CHECK = "band_rates_stable"
UI_CHECKS = {
    DATA_CHECK: "Rows loaded on the day per raw table vs the trailing median, freshness relative to the day,"
    " quarantine share of the day's rows, and no rejected file that may hold rows of the day.",
    "scores_of_run": "The day's scores are exactly the ones this run wrote.",
    "no_missing_scores": "No null/NaN score or band.",
    "scores_within_unit_interval": "Scores in [0, 1].",
    "population_matches_features": "One score per account with a feature row that day, nothing else.",
    "decisions_explained": "Every review/block account carries its first reason code and text.",
    BAND_CHECK: "Review/block rates vs the previous scored days: fails on a collapse or an implausible spike,"
    " warns on a smaller jump.",
    "features_arriving": "Every model feature still arrives: fails when a feature's values on the day are all null,"
    " zero or one value where the champion's training reference varied (ml/monitor/drift.py).",
}


def _ui_check(name: str) -> str | None:
    """The asset check that shows a recorded result (None: a drift result, shown with its plots)."""
    kind = name.split(".")[0]
    if kind == "drift":
        return None
    if kind in ("volume", "freshness", "quarantine", "rejected_files"):
        return DATA_CHECK
    return BAND_CHECK if kind == "band_rate" else name


def feature_version() -> str:
    """Which feature definitions produced the inputs (`ml.features.version`)."""
    project = yaml.safe_load((vigil_dbt_project.project_dir / "dbt_project.yml").read_text())
    return versioned_features(json.loads(vigil_dbt_project.manifest_path.read_text()), project.get("vars") or {})


def _days(context: dg.AssetExecutionContext) -> list[date]:
    keys = context.partition_key_range
    start, end = date.fromisoformat(keys.start), date.fromisoformat(keys.end)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as every warehouse timestamp


def _own_runs(context: dg.AssetExecutionContext) -> set[str]:
    """This run's re-execution family: a re-run of a failed step may publish what its parent scored."""
    return {r for r in (context.run.parent_run_id, context.run.root_run_id) if r}


def _lease_is_stale(instance: dg.DagsterInstance):
    """A lease may be taken over when its run is over: finished in Dagster, or its process gone."""

    def stale(lease: leases.Lease) -> bool:
        run = instance.get_run_by_id(lease.run_id)
        return (run is not None and run.is_finished) or leases.holder_is_dead(lease.holder)

    return stale


class ScoringConfig(dg.Config):
    with_reasons: bool = True  # reason codes for review/block rows (the others: `python -m ml.score.explain`)


def _check_results(results: dict[str, list[tuple[date, CheckResult]]]):
    for name in UI_CHECKS:
        found = results.get(name, [])
        blocking = [f"{day} {r.check}: {r.detail}" for day, r in found if r.blocks]
        warned = [f"{day} {r.check}: {r.detail}" for day, r in found if not r.passed and not r.blocks]
        shown = blocking or warned
        yield dg.AssetCheckResult(
            asset_key=SCORES_KEY,
            check_name=name,
            passed=not shown,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                "days_checked": len({day for day, _ in found}),
                "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in shown[:50]) or "none"),
            },
        )


@dg.asset(
    key=SCORES_KEY,
    group_name=GROUP,
    kinds={"python", "xgboost"},
    partitions_def=feature_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_days_per_run()),
    pool=WAREHOUSE_POOL,
    deps=[get_asset_key_for_model([vigil_dbt_features_daily], FEATURES_MODEL), champion_model],
    # Blocking: scores that fail a check never reach the enforcement sync in this run. (The
    # sync path refuses them anyway, in whatever run: the results are recorded in the warehouse.)
    check_specs=[
        *(
            dg.AssetCheckSpec(name, asset=SCORES_KEY, blocking=True, description=text)
            for name, text in UI_CHECKS.items()
        ),
        *(
            dg.AssetCheckSpec(name, asset=SCORES_KEY, blocking=False, description=text)
            for name, text in DRIFT_CHECKS.items()
        ),
    ],
)
def account_risk_scores(
    context: dg.AssetExecutionContext, config: ScoringConfig, warehouse: WarehouseResource, mlflow: MlflowResource
):
    """Every account with a feature row on the day, scored by the verified `@champion`:
    calibrated score, policy band, top 3 reasons. A re-run replaces the day. Each day's
    publication checks are recorded in `risk.publication_checks` under this run's id."""
    registry = mlflow.registry()
    try:
        champion = registry.load_champion()  # before anything is written
    except (LookupError, UngatedChampionError) as error:
        raise dg.Failure(str(error)) from error
    wh = warehouse.get(role=Role.SCORER)
    store.prepare(wh)
    days, run_id = _days(context), context.run.run_id
    try:
        taken = leases.acquire(
            wh, days, run_id, _now(), is_stale=_lease_is_stale(context.instance), own_runs=_own_runs(context)
        )
    except leases.DayLeasedError as error:
        raise dg.Failure(str(error)) from error
    for lease in taken:
        context.log.warning(f"took over the lease of {lease.as_of_date} from finished run {lease.run_id}")
    thresholds, monitor_thresholds = PublicationThresholds(), MonitorThresholds()
    monitor = DriftMonitor(
        wh, days[0], champion.model.features, champion.version, champion.reference, monitor_thresholds
    )
    if champion.reference is None:
        context.log.warning(f"v{champion.version} carries no training reference: drift is not measured")
    version = feature_version()
    results: dict[str, list[tuple[date, CheckResult]]] = defaultdict(list)
    monitored: dict[date, list[CheckResult]] = {}
    rows, seconds, band_counts = 0, 0.0, {band: 0 for band in BANDS}
    for day in days:
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
            scored_at=_now(),
            run_id=run_id,
            with_reasons=config.with_reasons,
        )
        seconds += time.perf_counter() - started
        monitored[day] = drift_checks(monitor.measure(day, features, scores), monitor_thresholds)
        store.replace_scores(wh, day, scores, guards=[leases.held_by(day, run_id)])
        rows += len(scores)
        for band, count in scores["band"].value_counts().items():
            band_counts[band] += int(count)
    # The gate's checks of every day written, recorded under this run's id for the sync path.
    drift_warnings: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day, checked in publication.check_days(wh, days, run_id, thresholds, monitored).items():
        publication.record_checks(wh, day, run_id, checked, _now())
        for result in checked:
            shown_as = _ui_check(result.check)
            if shown_as is not None:
                results[shown_as].append((day, result))
            elif not result.passed:
                drift_warnings[result.check].append((day, result.detail))
    reports = write_reports(context, warehouse, days)  # before the sync: publication still pending
    yield dg.MaterializeResult(
        asset_key=SCORES_KEY,
        metadata={
            "rows": rows,
            "model": f"{champion.name} v{champion.version}",
            "feature_version": version,
            "with_reasons": config.with_reasons,
            "accounts_per_second": round(rows / seconds, 1) if seconds else 0.0,
            "publication_thresholds": dg.MetadataValue.json(thresholds.as_dict()),
            "training_reference": champion.reference.source if champion.reference else "none (drift not measured)",
            **{f"{band}_rows": count for band, count in band_counts.items()},
            **reports,
        },
    )
    yield from _check_results(results)
    yield from drift_check_results(SCORES_KEY, monitor, drift_warnings)


class SyncConfig(dg.Config):
    """Publishing a day the gate refused: `override_reason` (why) and `override_by` (who) are
    both required and recorded in risk.publication_overrides and the decision history."""

    override_reason: str | None = None
    override_by: str | None = None


@dg.asset(
    key=SYNC_KEY,
    group_name=GROUP,
    kinds={"python"},
    partitions_def=feature_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_days_per_run()),
    pool=WAREHOUSE_POOL,
    deps=[account_risk_scores],
)
def enforcement_sync(context: dg.AssetExecutionContext, config: SyncConfig, warehouse: WarehouseResource):
    """One current row per account for reverse-ETL, changed only when its decision changes,
    tombstones for accounts that left the population, and the append-only decision history.
    Applies a day only through the publication gate; days before the sync's watermark (the
    last day applied) are skipped."""
    override = None
    if config.override_reason or config.override_by:
        try:
            override = Override(reason=config.override_reason or "", by=config.override_by or "")
        except ValueError as error:
            raise dg.Failure(f"{error}: set both override_reason and override_by") from error
    wh = warehouse.get(role=Role.SCORER)
    days = _days(context)
    try:
        outcomes = publish_days(
            wh,
            days,
            context.run.run_id,
            _now,
            own_runs=_own_runs(context),
            override=override,
            is_stale=_lease_is_stale(context.instance),
        )
    except PublicationRefusedError as refused:
        applied = [str(o.day) for o in refused.applied_before if o.status == "applied"]
        # The pages say the day was refused and why: reviewers see the queue that did not go out.
        reports = write_reports(context, warehouse, days)
        raise dg.Failure(
            description=str(refused),
            metadata={
                "refused_day": str(refused.day),
                "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in refused.problems[:50])),
                "days_applied_before": ", ".join(applied) or "none",
                **reports,
            },
        ) from refused
    except leases.DayLeasedError as error:
        raise dg.Failure(str(error)) from error
    applied = [o for o in outcomes if o.status == "applied"]
    skipped = [str(o.day) for o in outcomes if o.status == "skipped"]
    overridden = [str(o.day) for o in outcomes if o.overridden]
    if skipped:
        context.log.info(f"skipped {len(skipped)} days before the sync watermark: {skipped[0]} .. {skipped[-1]}")
    if overridden:
        context.log.warning(f"published under an override by {config.override_by}: {', '.join(overridden)}")
    reports = write_reports(context, warehouse, [o.day for o in applied])
    return dg.MaterializeResult(
        metadata={
            "days_applied": len(applied),
            "days_skipped_before_watermark": len(skipped),
            "days_published_under_override": ", ".join(overridden) or "none",
            "rows_changed": sum(o.changed for o in applied),
            "tombstones": sum(o.tombstoned for o in applied),
            **reports,
        }
    )
