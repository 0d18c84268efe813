"""dbt's `snowflake` target against the fakesnow emulator, on simulated data ingested by Vigil."""

import shutil
from datetime import timedelta

import numpy as np
import pytest

from ml.contract import TABLES
from ml.ingest.load import ingest_landing
from tests.dbt.conftest import DBT_PROJECT_DIR, run_dbt, run_results
from tests.snowflake_emulator import INGEST_NOW, SIMULATION_BATCHES_FROM, dbt_snowflake_env

pytestmark = pytest.mark.snowflake

# The whole project: seeds, staging, intermediate, the incremental feature mart and labels.
SNOWFLAKE_SELECTION = "fqn:*"
# Run only the tests whose models are all selected: a mart's relationship test to a staging
# model must wait until marts are in the selection.
INDIRECT_SELECTION = ["--indirect-selection", "cautious"]
# The overrides in dbt_project/macros/fakesnow_compat.sql (production never sets that var), and
# a few as-of days inside the ingested batches for the feature mart.
FEATURE_DAYS = ("2026-03-20", "2026-03-22")
FAKESNOW_VARS = [
    "--vars",
    f"{{fakesnow_compat: true, min_date: '{FEATURE_DAYS[0]}', max_date: '{FEATURE_DAYS[1]}'}}",
]
# Files of the week before the ingested ones, arriving late for the incremental run, and the
# first day of the ingested ones: the late rows land before it.
LATE_WEEK = "2026w09"
LATE_DAY = "2026-03-02"
assert LATE_WEEK < SIMULATION_BATCHES_FROM
# A failed statement can make the connector retry for minutes: fail the run instead.
DBT_TIMEOUT_SECONDS = 600


def _dbt(command: str, ingested, tmp_path):
    env = dbt_snowflake_env(ingested.fakesnow_connection, ingested.database)
    args = [command, "--target", "snowflake", "--select", SNOWFLAKE_SELECTION, *INDIRECT_SELECTION]
    args += FAKESNOW_VARS
    return run_dbt(args, tmp_path, env, timeout=DBT_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def built_snowflake(ingested_snowflake, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_snowflake")
    done = _dbt("build", ingested_snowflake, tmp)
    return done, run_results(tmp) if done.returncode == 0 else {}


def _scalar(ingested, sql: str):
    with ingested.warehouse.session() as s:
        return s.fetch_arrow(sql).column(0)[0].as_py()


def test_dbt_build_and_tests_pass_on_the_emulator(built_snowflake):
    done, statuses = built_snowflake
    assert done.returncode == 0, done.stdout[-5000:]
    assert not [uid for uid, status in statuses.items() if status in ("error", "fail")]
    staging_models = {p.stem for p in (DBT_PROJECT_DIR / "models" / "staging").rglob("*.sql")}
    assert staging_models <= {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    assert sum(uid.startswith("test.") for uid in statuses) >= 30


def test_every_passing_test_of_a_model_with_a_mark_is_marked_on_snowflake(built_snowflake, ingested_snowflake):
    """`on-run-end` (macros/tested_rows.sql) records each passing staging and intermediate
    test at its model's newest ingestion, all models in one statement."""
    _, statuses = built_snowflake
    marked = _scalar(
        ingested_snowflake,
        "select count(distinct test_id) from staging.dbt_test_marks"
        " where test_id like 'test.vigil.%stg_marketplace__logins%'",
    )
    logins_tests = [
        uid for uid, status in statuses.items() if "stg_marketplace__logins" in uid and uid.startswith("test.")
    ]
    assert marked == len(logins_tests) >= 2  # its column rules and its relationship
    marks = _scalar(
        ingested_snowflake,
        "select count(*) from staging.dbt_test_marks where lower(model_relation) like '%stg_marketplace__logins%'"
        " and tested_through = (select max(ingested_at) from staging.stg_marketplace__logins)",
    )
    assert marks == marked


@pytest.mark.parametrize("table", list(TABLES))
def test_staging_keeps_exactly_one_row_per_id_on_snowflake(built_snowflake, ingested_snowflake, table):
    pk = TABLES[table].primary_key
    stg_pk = {"event_id": "login_id"}.get(pk, pk)

    distinct_ids = _scalar(ingested_snowflake, f"select count(distinct {pk}) from raw.{table}")
    staged = _scalar(ingested_snowflake, f"select count(*) from staging.stg_marketplace__{table}")
    staged_ids = _scalar(ingested_snowflake, f"select count(distinct {stg_pk}) from staging.stg_marketplace__{table}")

    stale = _scalar(
        ingested_snowflake,
        f"select count(*) from staging.stg_marketplace__{table} as s"
        f" inner join raw.{table} as r on r.{pk} = s.{stg_pk} and r._loaded_at > s.loaded_at",
    )

    assert distinct_ids > 0
    assert staged == staged_ids == distinct_ids
    assert stale == 0


def test_quarantined_rows_reach_staging_on_snowflake(built_snowflake, ingested_snowflake):
    quarantined = _scalar(ingested_snowflake, "select count(*) from ingest.quarantine")

    assert quarantined == ingested_snowflake.report.rows_quarantined > 0
    assert _scalar(ingested_snowflake, "select count(*) from staging.stg_ingest__quarantined_rows") == quarantined


def test_features_and_labels_build_on_snowflake(built_snowflake, ingested_snowflake):
    days = _scalar(ingested_snowflake, "select count(distinct as_of_date) from marts.fct_account_features_daily")
    rows = _scalar(ingested_snowflake, "select count(*) from marts.fct_account_features_daily")
    labelled = _scalar(ingested_snowflake, "select count(*) from marts.fct_account_labels_daily")

    assert days == 3
    assert rows == labelled > 0


def test_a_second_run_rebuilds_models_and_replaces_feature_days(built_snowflake, ingested_snowflake, tmp_path):
    """The incremental feature mart's second run (delete+insert by day) works on the emulator
    with the compat overrides, and replaces the days rather than duplicating them."""
    bids = _scalar(ingested_snowflake, "select count(*) from staging.stg_marketplace__bids")
    features = _scalar(ingested_snowflake, "select count(*) from marts.fct_account_features_daily")

    again = _dbt("run", ingested_snowflake, tmp_path)

    assert again.returncode == 0, again.stdout[-5000:]
    assert set(run_results(tmp_path).values()) == {"success"}
    assert _scalar(ingested_snowflake, "select count(*) from staging.stg_marketplace__bids") == bids
    assert _scalar(ingested_snowflake, "select count(*) from marts.fct_account_features_daily") == features


def test_a_run_after_late_files_processes_them_incrementally_on_snowflake(
    built_snowflake, ingested_snowflake, small_simulation, tmp_path
):
    """The incremental models' real work on the emulator: files from the week before the
    ingested ones arrive late; the next run stages their rows (one row per id still), logs the
    accounts they touch and rebuilds those accounts' tiles with the custom replace strategy."""
    late = tmp_path / "landing"
    for path in sorted(small_simulation["landing"].glob(f"*/{LATE_WEEK}_*")):
        (late / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, late / path.parent.name / path.name)
    log_entries = _scalar(ingested_snowflake, "select count(*) from intermediate.int_account_changes")
    early_tiles_sql = f"select count(*) from intermediate.int_logins_daily where activity_date < '{LATE_DAY}'"
    assert _scalar(ingested_snowflake, early_tiles_sql) == 0
    ingest_landing(ingested_snowflake.warehouse, late, run_id="late", now=INGEST_NOW + timedelta(days=1))

    again = _dbt("run", ingested_snowflake, tmp_path)

    assert again.returncode == 0, again.stdout[-5000:]
    assert set(run_results(tmp_path).values()) == {"success"}
    staged = _scalar(ingested_snowflake, "select count(*) from staging.stg_marketplace__logins")
    distinct_ids = _scalar(ingested_snowflake, "select count(distinct event_id) from raw.logins")
    assert staged == distinct_ids
    assert _scalar(ingested_snowflake, "select count(*) from intermediate.int_account_changes") > log_entries
    assert _scalar(ingested_snowflake, early_tiles_sql) > 0


def test_one_feature_day_alone_equals_that_day_of_a_longer_run_on_snowflake(
    built_snowflake, ingested_snowflake, tmp_path
):
    """The daily run builds one as-of day, which the feature macros evaluate without joining the
    points to their rows (macros/features.sql); on the emulator its rows equal the same day's
    rows of the three-day build, which joins them. The emulator sums NUMBER columns into floats
    (README, "Known fakesnow gaps"), which the two plans add in different orders: floats are
    compared to 12 significant digits, every other column exactly."""
    day, mart = FEATURE_DAYS[1], "marts.fct_account_features_daily"
    of_the_day = f"select * from {mart} where as_of_date = '{day}' order by account_id"
    with ingested_snowflake.warehouse.session() as session:
        longer = session.fetch_arrow(of_the_day).to_pandas()
    env = dbt_snowflake_env(ingested_snowflake.fakesnow_connection, ingested_snowflake.database)
    one_day = ["--vars", f"{{fakesnow_compat: true, min_date: '{day}', max_date: '{day}'}}"]
    args = ["run", "--target", "snowflake", "--select", "fct_account_features_daily", *one_day]
    done = run_dbt(args, tmp_path, env, timeout=DBT_TIMEOUT_SECONDS)

    assert done.returncode == 0, done.stdout[-5000:]
    compiled = next((tmp_path / "target" / "compiled").rglob("fct_account_features_daily.sql")).read_text()
    assert "One as-of day" in compiled
    with ingested_snowflake.warehouse.session() as session:
        alone = session.fetch_arrow(of_the_day).to_pandas()
    assert len(longer) > 100
    assert list(alone.columns) == list(longer.columns)
    assert alone["account_id"].tolist() == longer["account_id"].tolist()
    differing = {}
    for column in alone.columns:
        a, b = alone[column], longer[column]
        if a.dtype.kind == "f":
            same = np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        else:
            same = (a == b) | (a.isna() & b.isna())
        if not same.all():
            differing[column] = int((~same).sum())
    assert differing == {}


def test_dbt_snowflake_runs_in_the_run_process_too(ingested_snowflake, tmp_path):
    """Dagster runs every dbt command in its run's process (orchestration/defs/dbt/in_process.py):
    dbt-snowflake there, as in production."""
    import logging
    import os
    import sys
    from pathlib import Path

    from orchestration.defs.dbt.in_process import DbtRunnerProcess

    env = {
        **os.environ,
        **dbt_snowflake_env(ingested_snowflake.fakesnow_connection, ingested_snowflake.database),
        "DBT_LOG_FORMAT": "json",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    folders = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    folders += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "target")]
    dbt = str(Path(sys.executable).parent / "dbt")
    connector = logging.getLogger("snowflake.connector")  # Vigil's own sessions log through it
    before = (connector.level, connector.propagate, list(connector.handlers))
    process = DbtRunnerProcess([dbt, "seed", "--target", "snowflake", *FAKESNOW_VARS, *folders], env=env)
    with process.stdout:
        lines = [line.decode() for line in process.stdout]
    assert process.wait(timeout=DBT_TIMEOUT_SECONDS) == 0, "\n".join(lines[-20:])
    # dbt-snowflake turns the connector's logger down to ERROR into dbt's own events: undone.
    assert (connector.level, connector.propagate, list(connector.handlers)) == before
    assert set(run_results(tmp_path).values()) == {"success"}
    assert _scalar(ingested_snowflake, "select count(*) from reference.disposable_email_domains") > 0
