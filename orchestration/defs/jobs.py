"""Jobs a risk engineer runs from the UI or CLI."""

import dagster as dg

from orchestration.defs.dbt.assets import vigil_dbt_features_daily, vigil_dbt_labels, vigil_dbt_models
from orchestration.defs.ingestion.assets import ingest_landing_files
from orchestration.defs.live.assets import intraday_scores
from orchestration.defs.monitoring.assets import restated_performance
from orchestration.defs.scoring.assets import account_risk_scores, enforcement_sync
from orchestration.lib.run_tags import NEAR_REAL_TIME_TAG

# Runs that score and publish carry this tag; the instance (orchestration/dagster.yaml) runs one
# of them at a time, so a backfill and the daily run queue instead of racing. Runs launched
# without it (an ad-hoc materialization) are still kept apart by the day leases in the warehouse.
PUBLISHES_TAG = {"vigil/publishes": "enforcement_sync"}

# Ingest new landing files, then rebuild and test staging and intermediate models.
ingest_job = dg.define_asset_job(
    name="ingest_and_stage",
    selection=dg.AssetSelection.assets(ingest_landing_files, vigil_dbt_models),
    description="Ingest new landing files, then build and test staging and intermediate dbt models.",
)

# One or more as-of days of features (a partition, or a range from the backfill dialog).
features_job = dg.define_asset_job(
    name="features_daily",
    selection=dg.AssetSelection.assets(vigil_dbt_features_daily),
    description="Build and test the point-in-time feature mart for the selected as-of days.",
)

labels_job = dg.define_asset_job(
    name="labels",
    selection=dg.AssetSelection.assets(vigil_dbt_labels),
    description="Rebuild labels (and their maturity) for every feature snapshot.",
)

# Labels mature every day, so retraining first rebuilds them, then the whole ml group.
retrain_job = dg.define_asset_job(
    name="retrain",
    selection=dg.AssetSelection.assets(vigil_dbt_labels) | dg.AssetSelection.groups("ml"),
    description="Rebuild labels, build the training set, train a challenger, evaluate it against the champion"
    " and the baselines, and promote it if the gate passes it.",
)

# Mondays 05:00 UTC, after the weekend's feature partitions are in.
weekly_retrain = dg.ScheduleDefinition(
    name="weekly_retrain",
    job=retrain_job,
    cron_schedule="0 5 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# Score one or more as-of days with the champion and apply them to the enforcement sync table.
score_job = dg.define_asset_job(
    name="score",
    selection=dg.AssetSelection.assets(account_risk_scores, enforcement_sync),
    description="Score the selected as-of days with the champion model and apply them to the enforcement sync table.",
    tags=PUBLISHES_TAG,
)

# The daily run: new landing files -> staging/intermediate -> that day's features -> scores -> sync.
daily_job = dg.define_asset_job(
    name="daily",
    selection=dg.AssetSelection.assets(
        ingest_landing_files, vigil_dbt_models, vigil_dbt_features_daily, account_risk_scores, enforcement_sync
    ),
    description="Ingest, build and test dbt models, build the day's features, score them and update the sync table.",
    tags=PUBLISHES_TAG,
)

# Each day at 02:00 UTC, for the day that just ended (the newest partition).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, hour_of_day=2, default_status=dg.DefaultScheduleStatus.RUNNING
)

# Grade published days whose labels are final (one partition per run; matured_days_sensor asks).
restate_job = dg.define_asset_job(
    name="restate_performance",
    selection=dg.AssetSelection.assets(restated_performance),
    description="Grade the published scores of days whose labels are final and log the series to MLflow.",
)

# A near-real-time batch (landing_files_sensor launches it): new files -> staging/intermediate ->
# the touched accounts' intraday vectors and scores -> escalations to `review` through the
# intraday gate. The warehouse pool queues it behind (or ahead of) the daily run's warehouse
# steps. Its steps run in the run's own process: a process per step would cost a Python start
# and a load of the definitions each, seconds a micro-batch cannot spare. Its tag
# (orchestration/lib/run_tags.py) makes ingestion defer files still settling instead of waiting,
# and leaves dbt's unit tests to CI and the daily run.
near_real_time_job = dg.define_asset_job(
    name="near_real_time",
    selection=dg.AssetSelection.assets(ingest_landing_files, vigil_dbt_models, intraday_scores),
    description="Ingest new landing files, update staging and intermediate, re-score the accounts they touched"
    " (risk.intraday_scores) and escalate them to review in the enforcement sync when the batch passes its gate.",
    executor_def=dg.in_process_executor,
    tags=NEAR_REAL_TIME_TAG,
)
