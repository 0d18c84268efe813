"""Jobs a risk engineer runs from the UI or CLI."""

import dagster as dg

# Everything that exists end to end: ingest the landing folder, then build and test dbt.
pipeline_job = dg.define_asset_job(
    name="vigil_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, then build and test every dbt model.",
)
