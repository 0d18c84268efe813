"""feature_version: a digest of the feature definitions, from dbt's manifest."""

import copy
import json

import pytest

from ml.features.version import feature_version
from orchestration.defs.dbt.project import vigil_dbt_project


@pytest.fixture(scope="module")
def manifest():
    return json.loads(vigil_dbt_project.manifest_path.read_text())


def _node(manifest, name):
    return next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)


def test_a_change_to_a_feature_family_or_a_macro_it_calls_changes_the_version(manifest):
    version = feature_version(manifest)
    assert version.startswith("features@")
    family = copy.deepcopy(manifest)
    _node(family, "int_features_logins")["checksum"]["checksum"] = "changed"
    assert feature_version(family) != version
    macro = copy.deepcopy(manifest)
    macro["macros"]["macro.vigil.trailing"]["macro_sql"] += " "
    assert feature_version(macro) != version
    # A model the features do not read is not part of it.
    other = copy.deepcopy(manifest)
    _node(other, "fct_account_labels_daily")["checksum"]["checksum"] = "changed"
    assert feature_version(other) == version


def test_a_manifest_without_the_definitions_is_a_clear_error(manifest):
    stale = copy.deepcopy(manifest)
    stale["nodes"] = {k: v for k, v in stale["nodes"].items() if not k.endswith(".int_features_joined")}
    with pytest.raises(LookupError, match="not in the dbt manifest"):
        feature_version(stale)
