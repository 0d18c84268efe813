"""The enforcement sync diff: what changes in the one-row-per-account table a reverse-ETL tool
reads, and the decision-history rows that record each change.

A row changes only when its decision changes, so an incremental sync by `updated_at` moves
real changes and nothing else (a score that drifts inside its band is not a change). Accounts
that leave the scored population get a tombstone (decision `removed`) instead of vanishing, so
the product can lift what Vigil asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ml.score.schema import DECISIONS_COLUMNS, REASON_COLUMNS, SYNC_COLUMNS

# Band -> what the product should do.
DECISION_OF_BAND = {"allow": "none", "review": "review", "block": "block"}
TOMBSTONE = "removed"
CARRIED = ["band", "score", *(name for name, _ in REASON_COLUMNS), "model_name", "model_version"]


@dataclass(frozen=True)
class SyncDiff:
    upserts: pd.DataFrame  # new current rows (SYNC_COLUMNS), keyed by sync_key
    decisions: pd.DataFrame  # history rows (DECISIONS_COLUMNS)
    tombstoned: int

    @property
    def changed(self) -> int:
        return len(self.upserts)


def diff_sync(current: pd.DataFrame, scores: pd.DataFrame, as_of_date: date, now: datetime, run_id: str) -> SyncDiff:
    """Compare the current sync rows with one day of scores.

    `current`: the sync table (SYNC_COLUMNS); `scores`: that day's scores (one row per account).
    """
    if scores["account_id"].duplicated().any():
        raise ValueError("scores hold an account more than once: one as-of day at a time")
    unknown = set(scores["band"]) - set(DECISION_OF_BAND)
    if unknown:
        raise ValueError(f"unknown bands {sorted(unknown)}")
    new = scores.assign(decision=scores["band"].map(DECISION_OF_BAND))
    live = current.loc[~current["is_tombstone"].astype(bool), ["account_id", "decision"]]
    previous = current.set_index("account_id")["decision"]

    merged = new.merge(live, on="account_id", how="left", suffixes=("", "_current"), validate="one_to_one")
    changed = merged[merged["decision"] != merged["decision_current"]]  # NaN != x: new accounts
    upserts = changed[["account_id", "decision", *CARRIED]].assign(is_tombstone=False)

    gone = live[~live["account_id"].isin(new["account_id"])]
    tombstones = pd.DataFrame({"account_id": gone["account_id"], "decision": TOMBSTONE, "is_tombstone": True})
    for column in CARRIED:
        tombstones[column] = None

    # Records, not concat: the tombstones' all-null columns must not decide the dtypes.
    rows = pd.DataFrame.from_records(
        upserts.to_dict("records") + tombstones.to_dict("records"), columns=upserts.columns
    )
    rows = rows.assign(sync_key=rows["account_id"], as_of_date=as_of_date, effective_from=as_of_date, updated_at=now)
    decisions = rows.assign(previous_decision=rows["account_id"].map(previous), decided_at=now, run_id=run_id)
    return SyncDiff(
        upserts=rows[[name for name, _ in SYNC_COLUMNS]],
        decisions=decisions[[name for name, _ in DECISIONS_COLUMNS]],
        tombstoned=len(tombstones),
    )
