"""The review-queue page of each day a run scored, written after scoring and again after the sync
(then with the day's publication status), linked from the asset's metadata.

A page is a view: failing to write one is logged and shown in the metadata, and never stops
scores or the sync (their own checks decide those).
"""

from collections.abc import Iterable
from datetime import date

import dagster as dg

from ml.monitor.report import write_day_report
from ml.warehouse import Role
from orchestration.lib.resources import WarehouseResource


def write_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, days: Iterable[date]
) -> dict[str, dg.MetadataValue]:
    """Write each day's page (as the transformer: it reads risk and the intermediate link graph);
    metadata linking the last day's page and listing every page written or failed."""
    wh = warehouse.get(role=Role.TRANSFORMER)
    written, failed = [], []
    for day in days:
        try:
            written.append((day, write_day_report(wh, day)))
        except Exception as error:  # a view must not stop publication; the failure is shown
            context.log.exception(f"review-queue page of {day} not written")
            failed.append(f"- {day}: {type(error).__name__}: {str(error)[:300]}")
    metadata: dict[str, dg.MetadataValue] = {}
    if written:
        day, path = written[-1]
        metadata["review_queue_report"] = dg.MetadataValue.path(str(path))
        metadata["review_queue_report_url"] = dg.MetadataValue.url(path.resolve().as_uri())
        if len(written) > 1:
            metadata["review_queue_reports"] = dg.MetadataValue.md("\n".join(f"- {d}: `{p}`" for d, p in written[-31:]))
    if failed:
        metadata["review_queue_report_failures"] = dg.MetadataValue.md("\n".join(failed))
    return metadata
