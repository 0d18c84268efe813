"""Schema names honour the dbt target, in Python exactly as in dbt's generate_schema_name."""

from pathlib import Path

import pytest
import yaml

from ml import settings

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
VIGIL_SCHEMAS = ("raw", "ingest", "reference", "staging", "intermediate", "marts", "risk")


@pytest.fixture
def target(monkeypatch):
    for var in ("VIGIL_WAREHOUSE", "VIGIL_DBT_TARGET", "SNOWFLAKE_SCHEMA", "VIGIL_RAW_SCHEMA", "VIGIL_INGEST_SCHEMA"):
        monkeypatch.delenv(var, raising=False)

    def use(warehouse: str, dbt_target: str | None = None, schema: str | None = None) -> None:
        monkeypatch.setenv("VIGIL_WAREHOUSE", warehouse)
        if dbt_target:
            monkeypatch.setenv("VIGIL_DBT_TARGET", dbt_target)
        if schema:
            monkeypatch.setenv("SNOWFLAKE_SCHEMA", schema)

    return use


@pytest.mark.parametrize(
    ("warehouse", "dbt_target"), [("duckdb", None), ("snowflake", None), ("snowflake", "snowflake")]
)
def test_local_and_production_targets_use_vigils_schema_names_as_is(target, warehouse, dbt_target):
    target(warehouse, dbt_target, schema="analytics")

    assert [settings.schema_name(s) for s in VIGIL_SCHEMAS] == list(VIGIL_SCHEMAS)
    assert (settings.raw_schema(), settings.ingest_schema()) == ("raw", "ingest")


def test_a_dev_target_prefixes_every_schema_with_its_own_so_production_is_never_written(target, monkeypatch):
    target("snowflake", "snowflake_dev", schema="dbt_alice")
    monkeypatch.setenv("VIGIL_RAW_SCHEMA", "cdc_raw")

    assert [settings.schema_name(s) for s in VIGIL_SCHEMAS] == [f"dbt_alice_{s}" for s in VIGIL_SCHEMAS]
    assert settings.raw_schema() == "dbt_alice_cdc_raw"
    assert settings.ingest_schema() == "dbt_alice_ingest"


def test_a_dev_target_without_a_schema_of_its_own_is_refused(target):
    target("snowflake", "snowflake_dev")

    with pytest.raises(ValueError, match="SNOWFLAKE_SCHEMA"):
        settings.schema_name("marts")


def test_a_dbt_target_on_another_engine_than_the_warehouse_is_refused(target):
    target("duckdb", "snowflake")

    with pytest.raises(ValueError, match="does not run on VIGIL_WAREHOUSE='duckdb'"):
        settings.dbt_target()


def test_python_and_dbt_agree_on_which_targets_keep_the_plain_names():
    dbt_vars = yaml.safe_load(DBT_PROJECT.read_text())["vars"]

    assert tuple(dbt_vars["vigil_plain_schema_targets"]) == settings.PLAIN_SCHEMA_TARGETS
