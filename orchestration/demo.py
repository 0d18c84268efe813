"""`make demo` / `make pipeline`: (simulate,) run the Vigil jobs, print what they built.

Jobs: `ingest_and_stage`, then `features_daily` over the as-of days with activity (partition
range runs), then `retrain` (labels, training set, model, evaluation, promotion gate, champion),
then `score` over the last DEMO_SCORED_DAYS days (scores, reasons, enforcement sync).
When the gate refuses the new challenger and a champion exists (e.g. a second `make demo` on the
same data trains the same model again, with no gain), the champion stays and scores, as the daily
schedule would.

The jobs run in-process against the Dagster instance in $DAGSTER_HOME, so the runs, their asset
materializations and checks show up in the UI started by `make dev`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from ml import settings
from ml.warehouse import Role, warehouse_from_env

log = logging.getLogger("vigil.demo")


def _simulate_if_empty(accounts: int, seed: int) -> None:
    from ml.simulate import SimulationConfig, simulate

    landing = settings.landing_dir()
    existing = [p for p in landing.glob("*/*") if p.is_file()] if landing.exists() else []
    if existing:
        log.info("landing folder %s already holds %d files: not simulating again", landing, len(existing))
        return
    started = time.perf_counter()
    summary = simulate(SimulationConfig(n_accounts=accounts, seed=seed), landing, settings.ground_truth_dir())
    log.info("simulated %d accounts in %.1fs", accounts, time.perf_counter() - started)
    log.debug("%s", summary)


def _prepare_dbt() -> None:
    from orchestration.defs.dbt.project import vigil_dbt_project

    # The preparer runs `dbt` from PATH: make it this environment's dbt even when the
    # interpreter was started by path rather than from an activated environment.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])

    vigil_dbt_project.preparer.prepare(vigil_dbt_project)


# Days per feature run. Each run also reads the 89 days before its first day, so the demo uses
# quarter-sized runs (fewer re-reads); UI backfills use month-sized ones (BackfillPolicy).
DEMO_DAYS_PER_RUN = 92


# Days the demo scores and syncs, ending on the last day with features (a UI backfill can
# score any range).
DEMO_SCORED_DAYS = 7


def _feature_chunks(warehouse) -> list[tuple[str, str]]:
    """As-of days with activity, clipped to the partitions, in runs of DEMO_DAYS_PER_RUN days."""
    from orchestration.defs.dbt.partitions import feature_days

    with warehouse.session() as session:
        row = session.fetch_arrow(
            "select min(activity_date) as first_day, max(activity_date) as last_day"
            f" from {settings.schema_name('intermediate')}.int_account_activity_daily"
        ).to_pylist()[0]
    keys = feature_days.get_partition_keys()
    wanted = [k for k in keys if row["first_day"] and str(row["first_day"]) <= k <= str(row["last_day"])]
    step = DEMO_DAYS_PER_RUN
    return [(chunk[0], chunk[-1]) for chunk in (wanted[i : i + step] for i in range(0, len(wanted), step))]


# Step and check of `retrain` that refuse a challenger (orchestration/defs/ml/assets.py).
EVALUATION_STEP = "ml__model_evaluation"


def refused_by_gate(result) -> bool:
    """True when a `retrain` run failed only because the promotion gate refused its challenger:
    the evaluation step is the one step that failed, and its gate check did not pass."""
    from orchestration.defs.ml.assets import GATE_CHECK

    failed_steps = {event.step_key for event in result.get_step_failure_events()}
    refused = any(c.check_name == GATE_CHECK and not c.passed for c in result.get_asset_check_evaluations())
    return not result.success and failed_steps == {EVALUATION_STEP} and refused


def gate_refusal(registry) -> str:
    """What the gate said of the challenger it refused, and which champion stays."""
    from ml.registry import CHALLENGER, CHAMPION

    challenger, champion = registry.version_of(CHALLENGER), registry.version_of(CHAMPION)
    run_id = registry.client.get_model_version(registry.model_name, challenger).run_id
    reasons = registry.client.get_run(run_id).data.tags.get("gate.reasons", "no reasons logged")
    return f"the gate refused challenger v{challenger} ({reasons}); champion v{champion} stays"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--simulate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="generate a simulated landing folder first if it is empty",
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    started = time.perf_counter()
    if args.simulate:
        _simulate_if_empty(args.accounts, args.seed)
    elif not settings.landing_dir().is_dir():
        print(f"landing folder {settings.landing_dir()} does not exist (set VIGIL_LANDING_DIR)", file=sys.stderr)
        return 2
    _prepare_dbt()

    from ml.registry import CHAMPION, ModelRegistry
    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()

    def run(job: str, days: tuple[str, str] | None = None) -> dg.ExecuteInProcessResult:
        """One job run, over a range of as-of partitions when `days` is given."""
        tags = (
            {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]}
            if days
            else None
        )
        return defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False, tags=tags)

    results = [run("ingest_and_stage")]
    chunks = _feature_chunks(warehouse_from_env(role=Role.TRANSFORMER, read_only=True)) if results[-1].success else []
    if results[-1].success:
        for start, end in chunks:
            log.info("building features for %s .. %s", start, end)
            results.append(run("features_daily", (start, end)))
            if not results[-1].success:
                break
    kept_champion = None  # the `retrain` run whose challenger the gate refused, the champion scoring
    if all(r.success for r in results):
        results.append(run("retrain"))
        champion = ModelRegistry.from_env(settings.data_dir()).version_of(CHAMPION)
        if refused_by_gate(results[-1]) and champion is not None:
            kept_champion = results[-1]
            log.warning("the gate refused the new challenger: champion v%s stays and scores", champion)
    if all(r.success or r is kept_champion for r in results):
        last_day = chunks[-1][1]
        first_day = str(date.fromisoformat(last_day) - timedelta(days=DEMO_SCORED_DAYS - 1))
        log.info("scoring %s .. %s", first_day, last_day)
        results.append(run("score", (first_day, last_day)))
    succeeded = all(r.success or r is kept_champion for r in results)

    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    failed_checks = [c for c in checks if not c.passed]
    from orchestration.lib.summary import model_summary, scoring_summary, warehouse_summary

    print(
        "\n=== Vigil pipeline "
        + ("succeeded" if succeeded else "FAILED")
        + f" in {time.perf_counter() - started:.0f}s ==="
    )
    print(f"dagster runs: {', '.join(r.run_id[:8] for r in results)}")
    print(f"asset checks: {len(checks) - len(failed_checks)} passed, {len(failed_checks)} failed or warned")
    for c in failed_checks[:10]:
        print(f"  - {c.asset_key.to_user_string()} / {c.check_name} ({c.severity.value})")
    if kept_champion is not None:
        print(f"retrain:  {gate_refusal(ModelRegistry.from_env(settings.data_dir()))}")
    if succeeded:
        for line in warehouse_summary(warehouse_from_env(role=Role.TRANSFORMER, read_only=True)):
            print(line)
        for line in model_summary(ModelRegistry.from_env(settings.data_dir())):
            print(line)
        for line in scoring_summary(warehouse_from_env(role=Role.TRANSFORMER, read_only=True)):
            print(line)
    print(f"landing folder: {settings.landing_dir()}")
    print(f"warehouse:      {settings.duckdb_path() if settings.warehouse_engine() == 'duckdb' else 'snowflake'}")
    print("look around:    make dev     (Dagster UI on http://127.0.0.1:3000; these runs are listed there)")
    print("                make mlflow  (MLflow UI on http://127.0.0.1:5000: runs, plots, registered model)")
    return 0 if succeeded else 1


if __name__ == "__main__":
    raise SystemExit(main())
