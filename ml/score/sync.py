"""The enforcement sync diff: what changes in the one-row-per-account table a reverse-ETL tool
reads, and the decision-history rows that record each change (with why).

A row changes only when its decision changes, so an incremental sync by `updated_at` moves
real changes and nothing else (a score that drifts inside its band is not a change).

Blocks are sticky: the model may add a block, but never lifts one. A block suppresses the very
activity the 7/30-day features measure, so a blocked abuser's score drifts back to `allow`;
lifting on that would un-block them automatically. A block ends only when a person lifted it
after it took effect (a `reinstate` from manual review or an appeal, `lifts`); the account then
gets the model's decision, except that for `HUMAN_LIFT_HOLD_DAYS` after a person reinstated an
account, a model `block` of it becomes `review`: a person decided against blocking it, so a
person confirms a new block (and the model cannot re-block what a reviewer just lifted). A model
`block` whose only reason is `COMBINED_SIGNALS` (no value is evidence on its own) becomes
`review` too: a block tells the person why, so it needs a reason that says something. A
`review` a rule made (`ml.score.rules`) says so in its change reason: `rule <CODE> (model band
allow)`; the model's own decisions say `model`.

A decision a near-real-time batch escalated (`source` `intraday`, ml/live/escalate.py) is the
daily run's to reconcile: the run for its day (or a later one) replaces it with its own
decision, the same or not (`source` becomes `daily`). The run for an earlier day (a late or
catching-up run) leaves it alone unless it blocks: it rests on newer data than that day's.

Accounts that leave the scored population (the feature mart holds accounts active in the last
90 days) get a tombstone instead of vanishing: a pending `review` or a `none` becomes
`removed`, a `block` stays `block` (flagged as a tombstone), and a tombstoned block that comes
back is still a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from ml.score.reasons import COMBINED_SIGNALS
from ml.score.rules import rule_change_reasons
from ml.score.schema import (
    DAILY,
    DECISIONS_COLUMNS,
    GROUP_COLUMN,
    INTRADAY,
    REASON_COLUMNS,
    SOURCE_COLUMN,
    SYNC_COLUMNS,
)

# Band -> what the product should do.
DECISION_OF_BAND = {"allow": "none", "review": "review", "block": "block"}
TOMBSTONE = "removed"
SEVERITY = {TOMBSTONE: 0, "none": 0, "review": 1, "block": 2}
STICKY = "block"  # never lifted by the model, kept on a tombstone
HUMAN_LIFT_HOLD_DAYS = 30
# More tombstones than this share of the live rows in one day is a data problem (a partial
# feature day), not a population change: the day is refused rather than applied.
MAX_TOMBSTONE_SHARE = 0.05
MIN_LIVE_ROWS_FOR_SHARE = 100
CARRIED = ["band", "score", GROUP_COLUMN[0], *(name for name, _ in REASON_COLUMNS), "model_name", "model_version"]
# Human lifts: one row per reinstatement known by the end of the day being applied.
LIFT_COLUMNS = ("account_id", "lifted_at", "description")
MODEL, LEFT, RETURNED = "model", "left the population", "returned"


@dataclass(frozen=True)
class SyncDiff:
    upserts: pd.DataFrame  # new current rows (SYNC_COLUMNS), keyed by sync_key
    decisions: pd.DataFrame  # history rows (DECISIONS_COLUMNS)
    tombstoned: int

    @property
    def changed(self) -> int:
        return len(self.upserts)


def no_lifts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": [], "lifted_at": pd.Series([], dtype="datetime64[us]"), "description": []})


def _first_lift_after(blocks: pd.DataFrame, lifts: pd.DataFrame) -> pd.Series:
    """Per blocked account: the first human lift after its block took effect (the end of its
    effective day, when the product applied it), as a description; missing if none."""
    if blocks.empty or lifts.empty:
        return pd.Series(dtype="object")
    took_effect = pd.to_datetime(blocks["effective_from"]) + timedelta(days=1)
    pairs = blocks[["account_id"]].assign(took_effect=took_effect.to_numpy()).merge(lifts, on="account_id")
    pairs = pairs[pd.to_datetime(pairs["lifted_at"]) >= pairs["took_effect"]]
    first = pairs.sort_values("lifted_at").drop_duplicates("account_id")
    return first.set_index("account_id")["description"]


def _held_for_review(new: pd.DataFrame, lifts: pd.DataFrame, as_of_date: date) -> pd.Series:
    """Accounts the model would block within the hold after a human lift: the lift that holds them."""
    if lifts.empty:
        return pd.Series(dtype="object")
    since = pd.Timestamp(as_of_date - timedelta(days=HUMAN_LIFT_HOLD_DAYS - 1))
    recent = lifts[pd.to_datetime(lifts["lifted_at"]) >= since].sort_values("lifted_at")
    latest = recent.drop_duplicates("account_id", keep="last").set_index("account_id")["description"]
    blocked = new.loc[new["decision"] == STICKY, "account_id"]
    return latest[latest.index.isin(blocked)]


def _intraday_after(current: pd.DataFrame, as_of_date: date) -> pd.Series:
    """Sync rows an intraday batch set from data of a day after `as_of_date`."""
    if SOURCE_COLUMN not in current or current.empty:
        return pd.Series(False, index=current.index)
    since = pd.to_datetime(current["effective_from"])
    return ((current[SOURCE_COLUMN] == INTRADAY) & (since > pd.Timestamp(as_of_date))).fillna(False).astype(bool)


def diff_sync(
    current: pd.DataFrame,
    scores: pd.DataFrame,
    as_of_date: date,
    now: datetime,
    run_id: str,
    max_tombstone_share: float = MAX_TOMBSTONE_SHARE,
    lifts: pd.DataFrame | None = None,
) -> SyncDiff:
    """Compare the current sync rows with one day of scores.

    `current`: the sync table (SYNC_COLUMNS); `scores`: that day's scores (one row per
    account); `lifts`: human lifts known by the end of `as_of_date` (LIFT_COLUMNS).
    """
    if scores["account_id"].duplicated().any():
        raise ValueError("scores hold an account more than once: one as-of day at a time")
    unknown = set(scores["band"]) - set(DECISION_OF_BAND)
    if unknown:
        raise ValueError(f"unknown bands {sorted(unknown)}")
    lifts = no_lifts() if lifts is None else lifts
    new = scores.assign(decision=scores["band"].map(DECISION_OF_BAND))
    new["change_reason"] = rule_change_reasons(new["reason_code_1"]).fillna(MODEL)
    held = _held_for_review(new, lifts, as_of_date)
    is_held = new["account_id"].isin(held.index)
    if is_held.any():
        new.loc[is_held, "decision"] = "review"
        holding_lift = new.loc[is_held, "account_id"].map(held)
        new.loc[is_held, "change_reason"] = "model block held for review after " + holding_lift
    # A block locks a person out and tells them why: without a single quotable reason, a person decides.
    unspecific = (new["decision"] == STICKY) & (new["reason_code_1"] == COMBINED_SIGNALS[0]) & ~is_held
    new.loc[unspecific, "decision"] = "review"
    new.loc[unspecific, "change_reason"] = "model block held for review: no single value is evidence on its own"

    # Intraday escalations on data newer than this day: not this run's to reconcile.
    newer = _intraday_after(current, as_of_date)
    live = current.loc[~current["is_tombstone"].astype(bool) & ~newer]
    previous = current.set_index("account_id")["decision"]
    merged = new.merge(
        current.assign(current_newer=newer, **({} if SOURCE_COLUMN in current else {SOURCE_COLUMN: DAILY}))[
            ["account_id", "decision", "is_tombstone", "effective_from", "current_newer", SOURCE_COLUMN]
        ].rename(
            columns={
                "decision": "current",
                "is_tombstone": "current_tombstone",
                "effective_from": "current_since",
                SOURCE_COLUMN: "current_source",
            }
        ),
        on="account_id",
        how="left",
        validate="one_to_one",
    )
    current_newer = merged["current_newer"].astype("boolean").fillna(False).astype(bool)
    reconciled = (merged["current_source"] == INTRADAY) & ~current_newer
    merged.loc[reconciled, "change_reason"] = (
        merged.loc[reconciled, "change_reason"] + "; reconciles the intraday " + merged.loc[reconciled, "current"]
    )
    rank = merged["decision"].map(SEVERITY)
    left_alone = current_newer & (rank <= merged["current"].map(SEVERITY))
    tombstoned = merged["current_tombstone"].astype("boolean").fillna(False).astype(bool)
    returned = tombstoned & (merged["current"] != STICKY)
    merged.loc[returned, "change_reason"] = RETURNED
    was_blocked = merged["current"] == STICKY
    would_lift = was_blocked & (merged["decision"] != STICKY)
    lifted_by = _first_lift_after(
        merged.loc[would_lift, ["account_id", "current_since"]].rename(columns={"current_since": "effective_from"}),
        lifts,
    )
    lifted = would_lift & merged["account_id"].isin(lifted_by.index)
    if lifted.any():
        merged.loc[lifted, "change_reason"] = merged.loc[lifted, "account_id"].map(lifted_by)
    kept = would_lift & ~lifted  # the model asks to lift, no human did: the block stands

    changed = (
        ~kept
        & ~left_alone
        & (
            merged["current"].isna()  # NaN: new accounts
            | tombstoned
            | (merged["decision"] != merged["current"])
            | reconciled  # the same decision, now the daily run's
        )
    )
    upserts = merged.loc[changed, ["account_id", "decision", *CARRIED, "change_reason"]].assign(
        is_tombstone=False, effective_from=as_of_date
    )
    # A tombstoned block that comes back is live again, and still the same block.
    back = merged.loc[was_blocked & tombstoned & ~lifted, "account_id"]
    back_blocked = current[current["account_id"].isin(back)]
    back_blocked = back_blocked[["account_id", "decision", *CARRIED, "effective_from"]].assign(
        is_tombstone=False, change_reason=f"{RETURNED}; block kept until a human lifts it"
    )
    upserts = upserts[~upserts["account_id"].isin(back_blocked["account_id"])]

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
    tombstones["change_reason"] = LEFT

    # Records, not concat: the tombstones' all-null columns must not decide the dtypes.
    columns = [*upserts.columns]
    rows = pd.DataFrame.from_records(
        upserts.to_dict("records") + back_blocked.to_dict("records") + tombstones.to_dict("records"), columns=columns
    )
    rows = rows.assign(sync_key=rows["account_id"], updated_at=now, **{SOURCE_COLUMN: DAILY})
    decisions = rows.assign(
        as_of_date=as_of_date, previous_decision=rows["account_id"].map(previous), decided_at=now, run_id=run_id
    )
    return SyncDiff(
        upserts=rows[[name for name, _ in SYNC_COLUMNS]],
        decisions=decisions[[name for name, _ in DECISIONS_COLUMNS]],
        tombstoned=len(tombstones),
    )
