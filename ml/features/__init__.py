"""Feature metadata: the catalog rendered from the dbt marts yml (see `ml.features.catalog`)."""
