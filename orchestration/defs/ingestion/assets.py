"""Landing folder -> raw schema: one multi-asset, one output per raw table."""

from dataclasses import replace
from pathlib import Path

import dagster as dg

from ml import settings
from ml.contract import TABLES
from ml.ingest.load import ingest_landing
from ml.ingest.options import IngestOptions
from ml.ingest.schema import LEDGER_TABLE, QUARANTINE_TABLE
from ml.warehouse import Role
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource
from orchestration.lib.run_tags import NEAR_REAL_TIME_TAG, tagged
from orchestration.lib.warmup import start_warmup

GROUP = "ingestion"
# dbt sources `marketplace.<table>` and `ingest.<table>` map to these keys, so the dbt
# staging models hang off this asset in the lineage graph. The keys are the dbt *source*
# names; the schemas behind them come from VIGIL_RAW_SCHEMA / VIGIL_INGEST_SCHEMA at run time.
RAW_KEYS = {name: dg.AssetKey(["marketplace", name]) for name in TABLES}
LEDGER_KEY = dg.AssetKey(["ingest", LEDGER_TABLE])
QUARANTINE_KEY = dg.AssetKey(["ingest", QUARANTINE_TABLE])


class IngestConfig(dg.Config):
    landing_dir: str | None = None  # default: VIGIL_LANDING_DIR or <VIGIL_DATA_DIR>/landing


@dg.multi_asset(
    specs=[
        *(
            dg.AssetSpec(
                key,
                group_name=GROUP,
                kinds={"python", "parquet"},
                description=f"`<raw schema>.{name}` (VIGIL_RAW_SCHEMA, default `raw`): valid rows of the "
                f"`{name}` landing files, typed per the raw contract, one row per row received "
                "(deduplicated later in staging).",
            )
            for name, key in RAW_KEYS.items()
        ),
        dg.AssetSpec(
            LEDGER_KEY,
            group_name=GROUP,
            kinds={"python"},
            description="One row per landing file and outcome: loaded once (identified by content "
            "hash), or rejected with the reason.",
        ),
        dg.AssetSpec(
            QUARANTINE_KEY,
            group_name=GROUP,
            kinds={"python"},
            description="Malformed landing rows with every reason and their original values.",
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def ingest_landing_files(
    context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource, mlflow: MlflowResource
):
    """Ingest every landing file not yet in the ledger; re-running ingests nothing twice."""
    landing = Path(config.landing_dir).resolve() if config.landing_dir else settings.landing_dir()
    batch = tagged(context, NEAR_REAL_TIME_TAG)
    if batch:
        # The batch's scoring step needs the model libraries and the champion: warmed while it ingests.
        start_warmup(lambda: mlflow.registry().load_champion())
    options = replace(IngestOptions.from_env(), wait_for_recent=not batch)
    report = ingest_landing(warehouse.get(role=Role.LOADER), landing, run_id=context.run.run_id, options=options)
    for outcome in report.rejected:
        context.log.warning(f"rejected {outcome.relative_path}: {outcome.reason}")
    for deferred in report.deferred:
        # A batch defers what landed after its sensor tick as a matter of course.
        log = context.log.info if batch else context.log.warning
        log(f"deferred {deferred.relative_path} to the next run: {deferred.reason}")
    for name, key in RAW_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata=report.table_summary(name))
    yield dg.MaterializeResult(
        asset_key=LEDGER_KEY,
        metadata={
            "landing_dir": str(landing),
            "files_new": len(report.outcomes),
            "files_already_ingested": report.files_already_ingested,
            "files_rejected": len(report.rejected),
            "files_deferred": len(report.deferred),
            "deferred": dg.MetadataValue.md(
                "\n".join(f"- `{d.relative_path}`: {d.reason}" for d in report.deferred[:20]) or "none"
            ),
            "partial_files_recovered": report.partial_files_recovered,
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={
            "rows_quarantined": report.rows_quarantined,
            "rows_loaded": report.rows_loaded,
            "top_reasons": dg.MetadataValue.md(
                "\n".join(f"- {reason}: {n}" for reason, n in report.quarantine_reasons.most_common(10)) or "none"
            ),
        },
    )


@dg.asset_check(asset=LEDGER_KEY, blocking=False, description="No landing file was rejected.", pool=WAREHOUSE_POOL)
def no_rejected_landing_files(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get(role=Role.LOADER, read_only=True).session() as session:
        rows = session.fetch_arrow(
            f"select file_path, reason from {settings.ingest_schema()}.{LEDGER_TABLE} where status = 'rejected'"
        ).to_pylist()
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected_files": len(rows),
            "examples": dg.MetadataValue.md(
                "\n".join(f"- `{r['file_path']}`: {r['reason']}" for r in rows[:20]) or "none"
            ),
        },
    )


MAX_QUARANTINE_SHARE = 0.05


@dg.asset_check(
    asset=QUARANTINE_KEY,
    blocking=False,
    description=f"At most {MAX_QUARANTINE_SHARE:.0%} of ingested rows were quarantined (per table).",
    # In the pool like every warehouse step: near-real-time batches run these checks while
    # other runs write, and a DuckDB file takes one writing process.
    pool=WAREHOUSE_POOL,
)
def quarantine_share_is_low(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get(role=Role.LOADER, read_only=True).session() as session:
        rows = session.fetch_arrow(
            f"select table_name, sum(rows_in_file) as rows_in_files, sum(rows_quarantined) as quarantined "
            f"from {settings.ingest_schema()}.{LEDGER_TABLE} where status = 'loaded' "
            "group by table_name order by table_name"
        ).to_pylist()
    shares = {
        r["table_name"]: float(r["quarantined"]) / float(r["rows_in_files"]) if r["rows_in_files"] else 0.0
        for r in rows
    }
    worst = max(shares.values(), default=0.0)
    return dg.AssetCheckResult(
        passed=worst <= MAX_QUARANTINE_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"worst_share": worst, **{f"share_{t}": s for t, s in shares.items()}},
    )
