"""Human lifts of a block: the only thing that ends one (see ml/score/sync.py).

A lift is a `reinstate` in the product's enforcement actions taken by a person (source
`manual_review` or `appeal`; a `rule` or `model` reinstatement is not a human decision), read
from staging (the newest version of each action) as known by the end of the day being applied:
both its time and its first load are before the end of that day, so a backfill sees what the
daily run saw.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from ml import settings
from ml.score.store import session_of
from ml.score.sync import LIFT_COLUMNS
from ml.warehouse import Warehouse, WarehouseSession

ACTIONS_MODEL = "stg_marketplace__enforcement_actions"


def actions_table() -> str:
    """Staged enforcement actions, in the staging schema of the current target."""
    return f"{settings.schema_name('staging')}.{ACTIONS_MODEL}"


HUMAN_SOURCES = ("manual_review", "appeal")


def read_lifts(source: Warehouse | WarehouseSession, day: date) -> pd.DataFrame:
    """Reinstatements by a person known by the end of `day` (LIFT_COLUMNS)."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time())
    sources = ", ".join(f"'{s}'" for s in HUMAN_SOURCES)
    with session_of(source) as session:
        rows = session.fetch_arrow(
            f"select action_id, account_id, occurred_at, action_source from {actions_table()}"
            f" where action = 'reinstate' and action_source in ({sources})"
            " and occurred_at < ? and first_loaded_at < ?",
            [end, end],
        ).to_pandas()
    descriptions = [
        f"reinstate {r.action_id} ({r.action_source}) at {pd.Timestamp(r.occurred_at):%Y-%m-%d %H:%M}"
        for r in rows.itertuples()
    ]
    frame = pd.DataFrame(
        {
            "account_id": rows["account_id"].astype("object"),
            "lifted_at": pd.to_datetime(rows["occurred_at"]),
            "description": pd.Series(descriptions, dtype="object"),
        }
    )
    return frame[list(LIFT_COLUMNS)]
