"""Daily as-of partitions of the feature mart."""

import os

import dagster as dg

# First as-of day features exist for; set it to the start of the history you ingest.
FEATURES_START_DATE = os.environ.get("VIGIL_FEATURES_START_DATE", "2026-01-01")

feature_days = dg.DailyPartitionsDefinition(start_date=FEATURES_START_DATE, timezone="UTC")
