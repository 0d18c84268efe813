"""The enforcement sync diff: what changes in the one-row-per-account table a reverse-ETL tool
reads, and the decision-history rows that record each change.

A row changes only when its decision changes, so an incremental sync by `updated_at` moves
real changes and nothing else (a score that drifts inside its band is not a change). Accounts
that leave the scored population (the feature mart holds accounts active in the last 90 days)
get a tombstone instead of vanishing: a pending `review` or a `none` becomes `removed`, but a
`block` stays `block` (flagged as a tombstone). A blocked account goes quiet because it is
blocked; going quiet must never lift the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ml.score.schema import DECISIONS_COLUMNS, REASON_COLUMNS, SYNC_COLUMNS

# Band -> what the product should do.
DECISION_OF_BAND = {"allow": "none", "review": "review", "block": "block"}
TOMBSTONE = "removed"
STICKY = "block"  # kept on a tombstone
# More tombstones than this share of the live rows in one day is a data problem (a partial
# feature day), not a population change: the day is refused rather than applied.
MAX_TOMBSTONE_SHARE = 0.05
MIN_LIVE_ROWS_FOR_SHARE = 100
CARRIED = ["band", "score", *(name for name, _ in REASON_COLUMNS), "model_name", "model_version"]


@dataclass(frozen=True)
class SyncDiff:
    upserts: pd.DataFrame  # new current rows (SYNC_COLUMNS), keyed by sync_key
    decisions: pd.DataFrame  # history rows (DECISIONS_COLUMNS)
    tombstoned: int

    @property
    def changed(self) -> int:
        return len(self.upserts)


def diff_sync(
    current: pd.DataFrame,
    scores: pd.DataFrame,
    as_of_date: date,
    now: datetime,
    run_id: str,
    max_tombstone_share: float = MAX_TOMBSTONE_SHARE,
) -> SyncDiff:
    """Compare the current sync rows with one day of scores.

    `current`: the sync table (SYNC_COLUMNS); `scores`: that day's scores (one row per account).
    """
    if scores["account_id"].duplicated().any():
        raise ValueError("scores hold an account more than once: one as-of day at a time")
    unknown = set(scores["band"]) - set(DECISION_OF_BAND)
    if unknown:
        raise ValueError(f"unknown bands {sorted(unknown)}")
    new = scores.assign(decision=scores["band"].map(DECISION_OF_BAND))
    live = current.loc[~current["is_tombstone"].astype(bool)]
    previous = current.set_index("account_id")["decision"]

    merged = new.merge(
        live[["account_id", "decision"]], on="account_id", how="left", suffixes=("", "_current"), validate="one_to_one"
    )
    changed = merged[merged["decision"] != merged["decision_current"]]  # NaN != x: new accounts
    upserts = changed[["account_id", "decision", *CARRIED]].assign(is_tombstone=False, effective_from=as_of_date)

    gone = live[~live["account_id"].isin(new["account_id"])]
    if len(live) >= MIN_LIVE_ROWS_FOR_SHARE and len(gone) > max_tombstone_share * len(live):
        raise ValueError(
            f"{as_of_date}: {len(gone)} of {len(live)} live accounts are missing from the scores"
            f" (more than {max_tombstone_share:.0%}): a partial feature day, not a population change; nothing applied"
        )
    # A block stays a block (with its score, reasons and effective day); anything else becomes
    # `removed` from today.
    sticky = gone["decision"] == STICKY
    tombstones = gone[["account_id", "decision", *CARRIED, "effective_from"]].copy()
    tombstones.loc[~sticky, "decision"] = TOMBSTONE
    tombstones.loc[~sticky, CARRIED] = None
    tombstones.loc[~sticky, "effective_from"] = as_of_date
    tombstones["is_tombstone"] = True

    # Records, not concat: the tombstones' all-null columns must not decide the dtypes.
    rows = pd.DataFrame.from_records(
        upserts.to_dict("records") + tombstones.to_dict("records"), columns=upserts.columns
    )
    rows = rows.assign(sync_key=rows["account_id"], updated_at=now)
    decisions = rows.assign(
        as_of_date=as_of_date, previous_decision=rows["account_id"].map(previous), decided_at=now, run_id=run_id
    )
    return SyncDiff(
        upserts=rows[[name for name, _ in SYNC_COLUMNS]],
        decisions=decisions[[name for name, _ in DECISIONS_COLUMNS]],
        tombstoned=len(tombstones),
    )
