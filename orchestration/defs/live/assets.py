"""The near-real-time batch's own step: re-score the accounts the run's new data touched
(ml/live/batch.py) and escalate them through the intraday gate (ml/live/escalate.py). It runs
after `ingest_landing_files` and `vigil_dbt_models` in `near_real_time_job`, which
`landing_files_sensor` launches."""

import time
from datetime import date

import dagster as dg
from dagster_dbt import DbtCliResource

from ml.live import batch as live
from ml.live import escalate
from ml.registry import UngatedChampionError
from ml.score.schema import INTRADAY_SCORES_TABLE, RISK_SCHEMA
from ml.warehouse import Role
from orchestration.defs.dbt.assets import vigil_dbt_models
from orchestration.defs.dbt.invocation import NEAR_REAL_TIME_FLAGS, dbt_command, feature_days_env
from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.ingestion.assets import ingest_landing_files
from orchestration.defs.scoring.assets import _now, feature_version
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource

INTRADAY_KEY = dg.AssetKey([RISK_SCHEMA, INTRADAY_SCORES_TABLE])
GATE_CHECK = "intraday_gate"


class IntradayConfig(dg.Config):
    """`as_of_date` (YYYY-MM-DD): the day to compute the vectors for. Default: the newest day
    the batch's changes fall on (the data's own clock, so a replayed day works as a live one)."""

    as_of_date: str | None = None


@dg.asset(
    key=INTRADAY_KEY,
    group_name="near_real_time",
    kinds={"python", "dbt"},
    deps=[ingest_landing_files, vigil_dbt_models],
    pool=WAREHOUSE_POOL,
    description=(
        "Intraday scores of the accounts a near-real-time batch touched (appended per batch), and their"
        " escalations to `review` in the enforcement sync when the batch passes its gate."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            GATE_CHECK,
            asset=INTRADAY_KEY,
            blocking=False,
            description="The batch passed the intraday gate (ml/live/escalate.py): its escalations were published.",
        )
    ],
)
def intraday_scores(
    context: dg.AssetExecutionContext,
    config: IntradayConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    dbt: DbtCliResource,
):
    try:
        champion = mlflow.registry().load_champion()  # before anything is written
    except (LookupError, UngatedChampionError) as error:
        raise dg.Failure(str(error)) from error
    run_id = context.run.run_id
    wh = warehouse.get(role=Role.SCORER)
    with wh.session() as session:
        live.prepare(session)
    day = date.fromisoformat(config.as_of_date) if config.as_of_date else None
    # Planning reads the change log and links (intermediate), which only dbt's role may read.
    with warehouse.get(role=Role.TRANSFORMER).session() as session:
        batch_input = escalate.read_batch_input(session, run_id)  # the ledger: the batch's files
        trigger_files = batch_input.loaded
        batch = live.plan_batch(session, run_id, day)
    if not batch.accounts:
        context.log.info(f"no account touched since {batch.since}: nothing to re-score")
        live.record_batch(wh, batch, live.no_scores(), trigger_files, _now())
        return dg.MaterializeResult(
            metadata={"accounts_touched": 0, "since": str(batch.since)},
            check_results=[dg.AssetCheckResult(check_name=GATE_CHECK, passed=True, metadata={"escalated": 0})],
        )
    with wh.session() as session:
        live.write_batch_accounts(session, batch)
    started = time.perf_counter()
    args = ["run", "--select", live.INTRADAY_MODEL, "--vars", live.intraday_dbt_vars(), *NEAR_REAL_TIME_FLAGS]
    manifest, env = vigil_dbt_project.manifest_path, warehouse.dbt_env()
    day = feature_days_env(batch.as_of_date.isoformat(), batch.as_of_date.isoformat())
    with dbt_command(
        dbt, args, name="intraday_features", run_id=run_id, env=env, command_env=day, manifest=manifest
    ) as command:
        command.wait()
    features_seconds = time.perf_counter() - started
    with wh.session() as session:  # the scorer reads marts
        features = live.read_batch_features(session, batch.batch_id)
    started = time.perf_counter()
    scores = live.score_batch(
        features,
        champion.model,
        champion.policy,
        model_name=champion.name,
        model_version=champion.version,
        feature_version=feature_version(),
        scored_at=_now(),
        run_id=run_id,
        trigger_files=trigger_files,
    )
    escalation = live.record_and_escalate(wh, batch, scores, trigger_files, batch_input, _now)
    for refused in escalation.refused:
        context.log.warning(f"intraday gate refused batch {batch.batch_id}: {refused.check}: {refused.detail}")
    if len(scores) < len(batch.accounts):
        context.log.warning(
            f"{len(batch.accounts) - len(scores)} of {len(batch.accounts)} touched accounts have no vector on"
            f" {batch.as_of_date} (not active in the 90 days up to it): not scored"
        )
    bands = scores["band"].value_counts().to_dict()
    return dg.MaterializeResult(
        metadata={
            "batch_id": batch.batch_id,
            "as_of_date": str(batch.as_of_date),
            "accounts_touched": len(batch.accounts),
            "accounts_scored": len(scores),
            "since": str(batch.since),
            "cut_off": str(batch.cut_off),
            "trigger_files": len(trigger_files),
            "features_seconds": round(features_seconds, 2),
            "scoring_seconds": round(time.perf_counter() - started, 2),
            "model": f"{champion.name} v{champion.version}",
            **{f"{band}_rows": int(n) for band, n in bands.items()},
            "escalated": escalation.diff.changed if not escalation.refused else 0,
            "publication": escalation.publication[:1000],
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=GATE_CHECK,
                passed=not escalation.refused,
                severity=dg.AssetCheckSeverity.WARN,
                description=escalation.publication[:1000],
                metadata={"escalated": escalation.diff.changed if not escalation.refused else 0},
            )
        ],
    )
