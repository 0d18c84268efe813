"""A development target pointed at the production database writes only its own schemas.

Compiles the whole project for `snowflake_dev` (SNOWFLAKE_SCHEMA=dbt_ci) against the fakesnow
emulator, with the production database's name, and checks where every model, seed and source
resolves and what every compiled statement names, then that Vigil's Python resolves the same
schemas from the same settings.
"""

import json
import re

import pytest

from ml import settings
from ml.score.schema import risk_schema
from tests.dbt.conftest import run_dbt
from tests.snowflake_emulator import dbt_snowflake_env

pytestmark = pytest.mark.snowflake

PRODUCTION_DATABASE = "VIGIL"
DEV_SCHEMA = "dbt_ci"
PRODUCTION_SCHEMAS = {"raw", "ingest", "reference", "staging", "intermediate", "marts", "risk"}
DBT_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def dev_compile(fakesnow_connection, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_dev_target")
    env = {
        **dbt_snowflake_env(fakesnow_connection, PRODUCTION_DATABASE),
        "VIGIL_DBT_TARGET": "snowflake_dev",
        "SNOWFLAKE_SCHEMA": DEV_SCHEMA,
    }
    # Unit tests are left out: compiling one introspects its input tables, which a fresh
    # development schema does not have yet.
    args = ["compile", "--target", "snowflake_dev", "--exclude", "resource_type:unit_test"]
    done = run_dbt([*args, "--vars", "{fakesnow_compat: true}"], tmp, env, timeout=DBT_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stdout[-5000:]
    return tmp / "target", env


def _relations(manifest: dict) -> dict[str, str]:
    """unique_id -> schema, for every model, seed and source."""
    nodes = [*manifest["nodes"].values(), *manifest["sources"].values()]
    return {n["unique_id"]: n["schema"] for n in nodes if n["resource_type"] in ("model", "seed", "source")}


def test_every_model_seed_and_source_of_a_dev_target_lives_in_its_own_schemas(dev_compile):
    target, _ = dev_compile
    schemas = _relations(json.loads((target / "manifest.json").read_text()))

    assert len(schemas) > 40
    assert {s for s in schemas.values() if not s.startswith(f"{DEV_SCHEMA}_")} == set()
    assert {s.removeprefix(f"{DEV_SCHEMA}_") for s in schemas.values()} == PRODUCTION_SCHEMAS


def test_no_compiled_statement_of_a_dev_target_names_a_production_schema(dev_compile):
    target, _ = dev_compile
    named: set[str] = set()
    for path in (target / "compiled").rglob("*.sql"):
        # Outside string literals: a data test's id ('test.vigil.<name>.<hash>') names no relation.
        sql = re.sub(r"'[^']*'", "''", path.read_text())
        named |= {m.lower() for m in re.findall(rf"\b{PRODUCTION_DATABASE}\.(\w+)\.", sql, re.IGNORECASE)}

    assert named, "no qualified relation found: the check would pass vacuously"
    assert named <= {f"{DEV_SCHEMA}_{s}" for s in PRODUCTION_SCHEMAS}
    assert not named & PRODUCTION_SCHEMAS


def test_vigils_python_resolves_the_same_schemas_as_dbt_on_a_dev_target(dev_compile, monkeypatch):
    target, env = dev_compile
    for var in ("VIGIL_WAREHOUSE", "VIGIL_DBT_TARGET", "SNOWFLAKE_SCHEMA", "VIGIL_RAW_SCHEMA", "VIGIL_INGEST_SCHEMA"):
        monkeypatch.setenv(var, env[var]) if var in env else monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VIGIL_WAREHOUSE", "snowflake")
    manifest = json.loads((target / "manifest.json").read_text())

    sources = {s["source_name"]: s["schema"] for s in manifest["sources"].values()}
    built = {n["config"]["schema"]: n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}

    assert sources == {"marketplace": settings.raw_schema(), "ingest": settings.ingest_schema(), "risk": risk_schema()}
    assert built == {custom: settings.schema_name(custom) for custom in built}
    assert set(built) == {"staging", "intermediate", "marts"}
