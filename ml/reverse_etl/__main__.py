"""`python -m ml.reverse_etl`: copy new enforcement sync rows into the product's PostgreSQL.

The product database comes from libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER,
PGPASSWORD or ~/.pgpass), never from the command line; the warehouse from Vigil's settings
(VIGIL_WAREHOUSE, ...), read as the reverse-ETL role. Runs until caught up, then exits: run it
on a schedule. Exit status 0 when caught up.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ml.reverse_etl.consumer import BATCH_ROWS, CURSOR_NAME, PRODUCT_TABLE, sync_to_postgres
from ml.warehouse import Role, warehouse_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.reverse_etl", description=__doc__)
    parser.add_argument("--table", default=PRODUCT_TABLE, help="the product table to upsert into")
    parser.add_argument("--cursor-name", default=CURSOR_NAME, help="this consumer's row in vigil_sync_cursors")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="rows per transaction")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    report = sync_to_postgres(
        warehouse_from_env(role=Role.REVERSE_ETL, read_only=True),
        table=args.table,
        name=args.cursor_name,
        batch_rows=args.batch_rows,
    )
    logging.getLogger("ml.reverse_etl").info(
        "caught up: %d rows in %d batches, cursor %d -> %d",
        report.rows,
        report.batches,
        report.cursor_before,
        report.cursor_after,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
