"""`python -m ml.monitor.report --day YYYY-MM-DD` (`make report DAY=...`): write the review-queue
page of a scored day from an existing warehouse, read-only, under `$VIGIL_DATA_DIR/reports/`.

The scoring job writes the same page after scoring and again after the sync (with the day's
publication status); this writes it again for any day, e.g. one scored before pages existed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ml import settings
from ml.monitor.queue import NoScoresError, read_queue
from ml.monitor.report_html import write_report
from ml.warehouse import Role, Warehouse, warehouse_from_env

log = logging.getLogger(__name__)


def reports_dir() -> Path:
    return settings.data_dir() / "reports"


def write_day_report(warehouse: Warehouse, day: date, folder: Path | None = None) -> Path:
    """Read the day's queue (as of the day) and write its page; returns the file."""
    queue = read_queue(warehouse, day, generated_at=datetime.now(UTC).replace(tzinfo=None))
    return write_report(queue, folder or reports_dir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="the as-of day, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, default=None, help="folder to write to (default: $VIGIL_DATA_DIR/reports)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Reads risk (scores, checks, decisions) and the intermediate link graph: the transformer's
    # grants on Snowflake. Read-only: the pipeline may keep running.
    warehouse = warehouse_from_env(role=Role.TRANSFORMER, read_only=True)
    try:
        path = write_day_report(warehouse, args.day, args.out)
    except NoScoresError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
