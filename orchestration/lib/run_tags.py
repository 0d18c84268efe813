"""Run tags that change how an asset runs, and the check for them."""

import dagster as dg

# A near-real-time batch (the `near_real_time` job's runs): its ingestion defers a landing file
# modified within the settle interval instead of waiting for it (the next batch takes it), and
# its dbt build leaves out dbt's unit tests (they check the SQL on fixed inputs, not the data:
# CI and the daily run run them) and the ephemeral models they test. Seconds a batch.
NEAR_REAL_TIME_TAG = {"vigil/path": "near_real_time"}


def tagged(context: dg.AssetExecutionContext, tag: dict[str, str]) -> bool:
    """Whether the run carries every key and value of `tag`."""
    return all(context.run.tags.get(key) == value for key, value in tag.items())
