"""feature_version: a digest of the feature definitions, from dbt's manifest."""

import copy
import json

import pytest

from ml.features.version import feature_version
from orchestration.defs.dbt.project import vigil_dbt_project

VARS = {"high_value_order_usd": 250, "ship_sla_days": 7}


@pytest.fixture(scope="module")
def manifest():
    return json.loads(vigil_dbt_project.manifest_path.read_text())


def _node(manifest, name):
    return next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)


def test_a_change_to_what_the_features_read_or_to_a_var_changes_the_version(manifest):
    version = feature_version(manifest, VARS)
    assert version.startswith("features@")
    for model in ("int_features_logins", "int_orders_bought_daily", "stg_marketplace__logins"):
        changed = copy.deepcopy(manifest)
        _node(changed, model)["checksum"]["checksum"] = "changed"
        assert feature_version(changed, VARS) != version, model
    for macro in ("macro.vigil.trailing", "macro.vigil.rebuild_tiles"):
        changed = copy.deepcopy(manifest)
        changed["macros"][macro]["macro_sql"] += " "
        assert feature_version(changed, VARS) != version, macro
    assert feature_version(manifest, VARS | {"high_value_order_usd": 300}) != version
    # A model the features do not read is not part of it.
    other = copy.deepcopy(manifest)
    _node(other, "fct_account_labels_daily")["checksum"]["checksum"] = "changed"
    assert feature_version(other, VARS) == version


def test_a_manifest_without_the_definitions_is_a_clear_error(manifest):
    stale = copy.deepcopy(manifest)
    stale["nodes"] = {k: v for k, v in stale["nodes"].items() if not k.endswith(".int_features_joined")}
    with pytest.raises(LookupError, match="not in the dbt manifest"):
        feature_version(stale, VARS)
