"""dbt models as Dagster assets; dbt tests appear as asset checks.

Three selections of the one dbt project:
- `vigil_dbt_models`: seeds, staging and intermediate models; incremental, each run processes
  what was ingested since the last one (config `full_refresh` rebuilds them from raw);
- `vigil_dbt_features_daily`: the point-in-time feature mart, partitioned by as-of day;
- `vigil_dbt_labels`: labels for every feature snapshot (rebuilt whole: labels mature).
The near-real-time models (tag `near_real_time`) are in none of them.
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ml import settings
from orchestration.defs.dbt.invocation import NEAR_REAL_TIME_FLAGS, dbt_command, feature_days_env
from orchestration.defs.dbt.partitions import feature_days
from orchestration.defs.dbt.project import vigil_dbt_project
from orchestration.defs.dbt.translator import translator
from orchestration.lib.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.lib.run_tags import NEAR_REAL_TIME_TAG, tagged

FEATURES_MODEL = "fct_account_features_daily"
LABELS_MODEL = "fct_account_labels_daily"
LABELS_COVERAGE_TEST = "assert_labels_cover_every_feature_snapshot"
# Models of the near-real-time path (fct_account_features_intraday): run per batch with its
# vars, never by the daily jobs.
NEAR_REAL_TIME = "tag:near_real_time"
EPHEMERAL = "config.materialized:ephemeral"
RELATIONSHIP_TESTS = "test_name:relationships"


class DbtModelsConfig(dg.Config):
    """Launchpad config of `vigil_dbt_models`."""

    # Rebuild staging and intermediate from the raw tables instead of processing what was
    # ingested since the last run: after a failed `is_changed_by_resend` test, or a change to
    # the models' SQL. Feature days already built are not touched.
    full_refresh: bool = False


def models_build_args(full_refresh: bool = False, near_real_time: bool = False) -> list[str]:
    """`dbt build` for the staging and intermediate models, incremental unless asked.

    A near-real-time batch leaves to CI and the daily run:
    - dbt's unit tests, which check the SQL on fixed inputs, and with them the ephemeral
      models (the feature families): they have no table to build, and dbt would compile each
      of them (0.6 s of a build with nothing new) only for their unit tests. The models that
      use them compile them again as their CTEs;
    - the `relationships` tests (warnings: a parent may arrive up to 7 days after its child).
      Minutes after a child lands its parent is often still on its way, so a batch's warning
      says little; the daily run reads every row since the test's mark (its mark moves only
      when the test runs), when most parents are in. 11 tests, ~0.3 s of a batch's build.
    Nor does it write dbt's artifacts or debug log (`NEAR_REAL_TIME_FLAGS`)."""
    args = ["build", "--full-refresh"] if full_refresh else ["build"]
    if not near_real_time:
        return args
    return [
        *args,
        "--exclude-resource-type",
        "unit_test",
        "--exclude",  # one value each: dagster-dbt reads them as its own option, not dbt's
        EPHEMERAL,
        "--exclude",
        RELATIONSHIP_TESTS,
        *NEAR_REAL_TIME_FLAGS,
    ]


def _stream_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
    command_env: dict[str, str] | None = None,
):
    name, env, run_id = context.op_execution_context.op.name, warehouse.dbt_env(), context.run.run_id
    with dbt_command(dbt, args, name=name, run_id=run_id, env=env, command_env=command_env, context=context) as dbt_run:
        yield from dbt_run.stream()


@dbt_assets(
    manifest=vigil_dbt_project.manifest_path,
    project=vigil_dbt_project,
    dagster_dbt_translator=translator,
    exclude=f"{FEATURES_MODEL} {LABELS_MODEL} {NEAR_REAL_TIME}",
    pool=WAREHOUSE_POOL,
)
def vigil_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtModelsConfig
):
    batch = tagged(context, NEAR_REAL_TIME_TAG)
    yield from _stream_build(context, dbt, warehouse, models_build_args(config.full_refresh, near_real_time=batch))


@dbt_assets(
    manifest=vigil_dbt_project.manifest_path,
    project=vigil_dbt_project,
    dagster_dbt_translator=translator,
    select=FEATURES_MODEL,
    # A check of the labels (it reads both models): it runs with the labels' build, not with
    # every new feature day, whose labels do not exist yet.
    exclude=LABELS_COVERAGE_TEST,
    partitions_def=feature_days,
    # A backfill of many days runs as a few dbt invocations of up to a month each
    # (VIGIL_BACKFILL_DAYS_PER_RUN): each reads the tiles of its days and the 89 before them
    # once, and its output (one row per account and day) stays a bounded size.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_days_per_run()),
    pool=WAREHOUSE_POOL,
)
def vigil_dbt_features_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    keys = context.partition_key_range  # the model's window (macro feature_date)
    yield from _stream_build(context, dbt, warehouse, ["build"], feature_days_env(keys.start, keys.end))


@dbt_assets(
    manifest=vigil_dbt_project.manifest_path,
    project=vigil_dbt_project,
    dagster_dbt_translator=translator,
    select=LABELS_MODEL,
    pool=WAREHOUSE_POOL,
)
def vigil_dbt_labels(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from _stream_build(context, dbt, warehouse, ["build"])
