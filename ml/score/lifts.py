"""Human lifts of a block: the only thing that ends one (see ml/score/sync.py).

A lift is either
- a `reinstate` in the product's enforcement actions taken by a person (source `manual_review`
  or `appeal`; a `rule` or `model` reinstatement is not a human decision), read from staging
  (the newest version of each action), or
- a lift recorded in Vigil by a named person with a reason (`risk.block_lifts`, written by
  `python -m ml.score.lifts`), e.g. to undo the blocks of a bad model or data day without
  waiting for the product,
as known by the end of the day being applied: both its time (and, for the product's actions,
its first load) are before the end of that day, so a backfill sees what the daily run saw.

    python -m ml.score.lifts --account acc_000042 --by "a.reviewer" --reason "appeal upheld, ticket 123"
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa

from ml import settings
from ml.score.schema import BLOCK_LIFTS_TABLE, SYNC_TABLE, ensure_risk_tables, risk_schema
from ml.score.store import session_of
from ml.score.sync import LIFT_COLUMNS, STICKY
from ml.warehouse import Role, Warehouse, WarehouseSession, warehouse_from_env

log = logging.getLogger(__name__)

ACTIONS_MODEL = "stg_marketplace__enforcement_actions"
HUMAN_SOURCES = ("manual_review", "appeal")


def actions_table() -> str:
    """Staged enforcement actions, in the staging schema of the current target."""
    return f"{settings.schema_name('staging')}.{ACTIONS_MODEL}"


def _product_reinstatements(session: WarehouseSession, end: datetime) -> pd.DataFrame:
    sources = ", ".join(f"'{s}'" for s in HUMAN_SOURCES)
    rows = session.fetch_arrow(
        f"select action_id, account_id, occurred_at, action_source from {actions_table()}"
        f" where action = 'reinstate' and action_source in ({sources})"
        " and occurred_at < ? and first_loaded_at < ?",
        [end, end],
    ).to_pandas()
    return pd.DataFrame(
        {
            "account_id": rows["account_id"].astype("object"),
            "lifted_at": pd.to_datetime(rows["occurred_at"]),
            "description": pd.Series(
                [
                    f"reinstate {r.action_id} ({r.action_source}) at {pd.Timestamp(r.occurred_at):%Y-%m-%d %H:%M}"
                    for r in rows.itertuples()
                ],
                dtype="object",
            ),
        }
    )


def _vigil_lifts(session: WarehouseSession, end: datetime) -> pd.DataFrame:
    rows = session.fetch_arrow(
        f"select account_id, lifted_at, lifted_by, reason from {risk_schema()}.{BLOCK_LIFTS_TABLE} where lifted_at < ?",
        [end],
    ).to_pandas()
    return pd.DataFrame(
        {
            "account_id": rows["account_id"].astype("object"),
            "lifted_at": pd.to_datetime(rows["lifted_at"]),
            "description": pd.Series(
                [
                    f"lifted in Vigil by {r.lifted_by} at {pd.Timestamp(r.lifted_at):%Y-%m-%d %H:%M}: {r.reason}"
                    for r in rows.itertuples()
                ],
                dtype="object",
            ),
        }
    )


def read_lifts(source: Warehouse | WarehouseSession, day: date) -> pd.DataFrame:
    """Every human lift known by the end of `day` (LIFT_COLUMNS): the product's reinstatements
    by a person, and the lifts recorded in Vigil."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    with session_of(source) as session:
        frames = [_product_reinstatements(session, end), _vigil_lifts(session, end)]
    lifts = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    return lifts[list(LIFT_COLUMNS)]


def record_lifts(
    warehouse: Warehouse, account_ids: Sequence[str], lifted_by: str, reason: str, lifted_at: datetime
) -> None:
    """Record a person's lift of the current blocks of `account_ids`. It takes effect from the
    first as-of day applied whose end is after `lifted_at` (the next daily run). Refuses,
    writing nothing, without a name and a reason, or for an account that is not blocked now."""
    if not lifted_by.strip() or not reason.strip():
        raise ValueError("a lift needs the name of the person lifting it and a reason")
    accounts = sorted(set(account_ids))
    if not accounts:
        raise ValueError("no account to lift")
    with warehouse.session() as session:
        ensure_risk_tables(session)
        marks = ", ".join("?" for _ in accounts)
        blocked = {
            r["account_id"]
            for r in session.fetch_arrow(
                f"select account_id from {risk_schema()}.{SYNC_TABLE} where decision = ? and account_id in ({marks})",
                [STICKY, *accounts],
            ).to_pylist()
        }
        not_blocked = [a for a in accounts if a not in blocked]
        if not_blocked:
            raise ValueError(f"{len(not_blocked)} account(s) are not blocked in {SYNC_TABLE}: {not_blocked[:10]}")
        rows = pa.table(
            {
                "account_id": pa.array(accounts, pa.string()),
                "lifted_at": pa.array([lifted_at] * len(accounts), pa.timestamp("us")),
                "lifted_by": pa.array([lifted_by.strip()] * len(accounts), pa.string()),
                "reason": pa.array([reason.strip()] * len(accounts), pa.string()),
            }
        )
        with session.transaction():
            session.append_arrow(risk_schema(), BLOCK_LIFTS_TABLE, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lift the blocks of accounts, as a named person, with a reason.")
    parser.add_argument("--account", action="append", required=True, help="account id (repeat for several)")
    parser.add_argument("--by", required=True, help="who lifts the blocks (recorded in the decision history)")
    parser.add_argument("--reason", required=True, help="why (recorded in the decision history)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        record_lifts(warehouse_from_env(role=Role.SCORER), args.account, args.by, args.reason, now)
    except ValueError as error:
        sys.stderr.write(f"refused: {error}\n")
        return 1
    log.info("recorded %d lift(s) at %s UTC; they apply from the next day the sync applies", len(args.account), now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
