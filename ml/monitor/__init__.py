"""Monitoring the champion after promotion: drift of its inputs and scores against the training
reference saved with its version, restated performance once labels are final, and the daily
review-queue report. Plain Python (no Dagster): the adapters are in `orchestration/defs/monitoring`.
"""
