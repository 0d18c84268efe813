"""dbt's `snowflake` target against the fakesnow emulator, on simulated data ingested by Vigil."""

import pytest

from ml.contract import TABLES
from tests.dbt.conftest import DBT_PROJECT_DIR, run_dbt, run_results
from tests.snowflake_emulator import dbt_snowflake_env

pytestmark = pytest.mark.snowflake

# Only staging for now: intermediate and mart models are being added. Widen this to the whole
# project (or "staging intermediate marts") once they build on fakesnow.
SNOWFLAKE_SELECTION = "staging"
# The overrides in dbt_project/macros/fakesnow_compat.sql; production never sets this var.
FAKESNOW_VARS = ["--vars", "{fakesnow_compat: true}"]
# A failed statement can make the connector retry for minutes: fail the run instead.
DBT_TIMEOUT_SECONDS = 600


def _dbt(command: str, ingested, tmp_path):
    env = dbt_snowflake_env(ingested.fakesnow_connection, ingested.database)
    args = [command, "--target", "snowflake", "--select", SNOWFLAKE_SELECTION, *FAKESNOW_VARS]
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


@pytest.mark.parametrize("table", list(TABLES))
def test_staging_keeps_exactly_one_row_per_id_on_snowflake(built_snowflake, ingested_snowflake, table):
    pk = TABLES[table].primary_key
    stg_pk = {"event_id": "login_id"}.get(pk, pk)

    distinct_ids = _scalar(ingested_snowflake, f"select count(distinct {pk}) from raw.{table}")
    staged = _scalar(ingested_snowflake, f"select count(*) from staging.stg_marketplace__{table}")
    staged_ids = _scalar(
        ingested_snowflake, f"select count(distinct {stg_pk}) from staging.stg_marketplace__{table}"
    )

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


def test_staging_models_rebuild_on_a_second_run(built_snowflake, ingested_snowflake, tmp_path):
    before = _scalar(ingested_snowflake, "select count(*) from staging.stg_marketplace__bids")

    again = _dbt("run", ingested_snowflake, tmp_path)

    assert again.returncode == 0, again.stdout[-5000:]
    assert set(run_results(tmp_path).values()) == {"success"}
    assert _scalar(ingested_snowflake, "select count(*) from staging.stg_marketplace__bids") == before
