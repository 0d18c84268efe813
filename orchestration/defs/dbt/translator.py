"""How dbt nodes become Dagster assets: models grouped by their top-level folder, seeds as `reference`."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class VigilDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
        if node.get("resource_type") == "model":
            # fqn = [project, folder, ...]: models/staging/... -> group "staging".
            spec = spec.replace_attributes(group_name=node["fqn"][1])
        elif node.get("resource_type") == "seed":
            # Fixed reference data (seeds/), in the `reference` schema.
            spec = spec.replace_attributes(group_name="reference")
        return spec


translator = VigilDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
