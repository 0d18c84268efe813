"""Intraday decisions: what a near-real-time batch may change in the enforcement sync, and the
batch's own publication gate.

A batch only escalates, and only to `review`:
- an account whose intraday band is `review` or `block` (the model's, or `review` from an
  intraday rule, `ml.score.rules`: its change reason names the rule) and whose current decision
  is `none`, a tombstone (`removed`) or nothing yet (an account new today) becomes `review`;
- a `block` band becomes `review` too (its change reason says the model asked for a block):
  no intraday rule blocks. A block locks a person out of the marketplace; the daily run blocks
  only after the whole day passed its checks (volume, freshness, quarantine, band rates,
  drift), which a few minutes of a day cannot pass. A reviewer sees the row at once and can
  act; the next daily run blocks if the model still says so;
- nothing else changes: `review` and `block` rows are left as they are (never de-escalated),
  and an `allow` band changes nothing.
Escalated rows carry `source` = `intraday` and `effective_from` = the batch's day; the daily run
of that day reconciles them (ml/score/sync.py).

The gate: a batch escalates only if every check below passes; its results are recorded in
`risk.publication_checks` under the batch id, with the batch. A refused batch publishes
nothing (its scores are still recorded for reviewers) and says why in `risk.intraday_batches`.
- `no_missing_scores`, `scores_within_unit_interval`: as in the daily gate;
- `intraday.escalations_explained`: every escalated row has its reason codes and texts;
- `intraday.daily_current`: the daily system of record is current: the sync has applied the
  day before the batch's day, and not under an override;
- `intraday.batch_input`: the batch's files were loaded, none rejected, with no more of their
  rows quarantined than the daily gate allows;
- `intraday.escalations_today`: the day's intraday escalations, this batch's included, stay
  within `IntradayLimits` (a multiple of the daily run's usual new escalations): a burst beyond
  it is a data or model problem, not a fraud wave, until a person says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from ml import settings
from ml.ingest.schema import LEDGER_TABLE
from ml.score import store
from ml.score.checks import (
    ERROR,
    CheckResult,
    no_missing_scores,
    quarantine_check,
    rejected_files_check,
    scores_within_unit_interval,
    unexplained,
)
from ml.score.rules import rule_change_reasons
from ml.score.schema import (
    DECISIONS_COLUMNS,
    DECISIONS_TABLE,
    INTRADAY,
    OVERRIDES_TABLE,
    SOURCE_COLUMN,
    SYNC_COLUMNS,
    SYNC_RUNS_TABLE,
    risk_schema,
)
from ml.score.sync import SEVERITY, STICKY, TOMBSTONE, SyncDiff
from ml.score.thresholds import PublicationThresholds
from ml.warehouse import Warehouse, WarehouseSession

log = logging.getLogger(__name__)

DECISION_OF_BAND = {"allow": "none", "review": "review", "block": "review"}  # never `block`
MAX_ATTEMPTS = 3  # re-diff a batch made stale by a daily sync landing meanwhile at most this often
PUBLISHED, NOTHING = "published", "nothing to escalate"


@dataclass(frozen=True)
class IntradayLimits:
    """How many intraday escalations a day may publish: `cap_factor` times the median number of
    new `review`/`block` decisions of the daily runs of the `baseline_days` days before, and at
    least `min_daily_cap` (a quiet baseline must not stop a real attack: the demo's daily runs
    make 12 to 28 such decisions a day, after the first applied day's 240)."""

    min_daily_cap: int = 50
    cap_factor: float = 4.0
    baseline_days: int = 7

    def cap(self, daily_escalations: Sequence[int]) -> int:
        median = float(np.median(daily_escalations)) if len(daily_escalations) else 0.0
        return max(self.min_daily_cap, int(self.cap_factor * median))


@dataclass(frozen=True)
class BatchInput:
    """What the batch's run loaded (the ingest ledger): per table (rows loaded, quarantined),
    the files it rejected with why, and the files it loaded (what triggered the batch)."""

    tables: Mapping[str, tuple[int, int]]
    rejected: Sequence[tuple[str, str]] = ()
    loaded: Sequence[str] = ()


@dataclass(frozen=True)
class GateState:
    """What the gate reads from the warehouse besides the batch."""

    last_daily_day: date | None  # the sync's watermark
    last_daily_overridden: bool
    escalated_today: int  # intraday escalations already published for the batch's day
    daily_escalations: tuple[int, ...]  # new review/block decisions per recent daily run


@dataclass(frozen=True)
class Escalation:
    diff: SyncDiff
    checks: tuple[CheckResult, ...]
    seen: store.SyncState  # what the diff was computed from

    @property
    def refused(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.blocks)

    @property
    def publication(self) -> str:
        if self.refused:
            return "refused: " + "; ".join(f"{c.check}: {c.detail}" for c in self.refused)
        return PUBLISHED if self.diff.changed else NOTHING


def escalation_diff(current: pd.DataFrame, scores: pd.DataFrame, day: date, now: datetime, batch_id: str) -> SyncDiff:
    """The sync rows a batch's scores escalate (see the module's rules), with their history."""
    if scores["account_id"].duplicated().any():
        raise ValueError(f"batch {batch_id} scores an account more than once")
    unknown = set(scores["band"]) - set(DECISION_OF_BAND)
    if unknown:
        raise ValueError(f"unknown bands {sorted(unknown)}")
    wanted = scores.assign(decision=scores["band"].map(DECISION_OF_BAND))
    merged = wanted.merge(
        current[["account_id", "decision", "is_tombstone"]].rename(columns={"decision": "current"}),
        on="account_id",
        how="left",
        validate="one_to_one",
    )
    # A tombstone counts as `none`, except a tombstoned block, which is still a block.
    tombstoned = merged["is_tombstone"].astype("boolean").fillna(False).astype(bool)
    now_rank = merged["current"].map(SEVERITY).fillna(0)
    now_rank[tombstoned & (merged["current"] != STICKY)] = SEVERITY[TOMBSTONE]
    up = merged[merged["decision"].map(SEVERITY) > now_rank].copy()
    cut_off = up["features_ingested_through"].astype(str)
    why = rule_change_reasons(up["reason_code_1"]).fillna(up["band"] + " band")
    up["change_reason"] = f"intraday {batch_id}: " + why + ", features through " + cut_off
    asked_block = up["band"] == "block"
    up.loc[asked_block, "change_reason"] += "; the model asked for a block: held for review (no intraday block)"
    up = up.assign(
        sync_key=up["account_id"],
        effective_from=day,
        updated_at=now,
        is_tombstone=False,
        **{SOURCE_COLUMN: INTRADAY},
    )
    decisions = up.assign(
        as_of_date=day, previous_decision=up["current"].astype(object), decided_at=now, run_id=batch_id
    )
    return SyncDiff(
        upserts=up[[name for name, _ in SYNC_COLUMNS]].reset_index(drop=True),
        decisions=decisions[[name for name, _ in DECISIONS_COLUMNS]].reset_index(drop=True),
        tombstoned=0,
    )


def batch_checks(
    scores: pd.DataFrame,
    diff: SyncDiff,
    day: date,
    state: GateState,
    batch_input: BatchInput,
    limits: IntradayLimits,
    thresholds: PublicationThresholds,
) -> list[CheckResult]:
    """The intraday gate's checks of one batch (pure)."""
    return [
        no_missing_scores(scores),
        scores_within_unit_interval(scores),
        escalations_explained(diff),
        daily_current(day, state.last_daily_day, state.last_daily_overridden),
        *batch_input_checks(batch_input, thresholds),
        escalations_today(diff.changed, state.escalated_today, state.daily_escalations, limits),
    ]


def escalations_explained(diff: SyncDiff) -> CheckResult:
    missing = unexplained(diff.upserts)
    detail = f"{missing} of {diff.changed} escalations without a reason code and text"
    return CheckResult("intraday.escalations_explained", missing == 0, detail, ERROR, missing)


WAITS_FOR_DAILY = "intraday.daily_current"  # the check a batch fails before the day before is published


def daily_current(day: date, last_daily_day: date | None, overridden: bool) -> CheckResult:
    name, wanted = WAITS_FOR_DAILY, day - timedelta(days=1)
    if last_daily_day is None or last_daily_day < wanted:
        detail = f"the sync's last daily day is {last_daily_day}, not {wanted}: the daily run is behind"
        return CheckResult(name, False, detail, ERROR)
    if overridden:
        detail = f"the last daily day {last_daily_day} was published under an override: escalate on checked days only"
        return CheckResult(name, False, detail, ERROR)
    return CheckResult(name, True, f"the sync's last daily day is {last_daily_day}", ERROR)


def batch_input_checks(batch_input: BatchInput, thresholds: PublicationThresholds) -> list[CheckResult]:
    """The daily gate's rejected-file and quarantine checks, on the batch's own files."""
    checks = [
        rejected_files_check(batch_input.rejected),
        *(
            quarantine_check(table, loaded, quarantined, thresholds)
            for table, (loaded, quarantined) in sorted(batch_input.tables.items())
        ),
    ]
    return [replace(check, check=f"intraday.{check.check}") for check in checks]


def escalations_today(batch: int, earlier: int, daily: Sequence[int], limits: IntradayLimits) -> CheckResult:
    cap, total = limits.cap(daily), earlier + batch
    detail = (
        f"{batch} escalations in this batch, {earlier} earlier today: {total} of a cap of {cap}"
        f" ({limits.cap_factor:g}x the daily runs' median of {np.median(daily) if len(daily) else 0:g}, at least"
        f" {limits.min_daily_cap})"
    )
    return CheckResult("intraday.escalations_today", total <= cap, detail, ERROR, total)


# --- reading the gate's inputs ---------------------------------------------------------------


def read_batch_input(session: WarehouseSession, run_id: str) -> BatchInput:
    """The ledger rows of the files `run_id` ingested (the transformer's role reads `ingest`)."""
    rows = session.fetch_arrow(
        f"select table_name, status, file_path, reason, rows_loaded, rows_quarantined"
        f" from {settings.ingest_schema()}.{LEDGER_TABLE} where run_id = ?",
        [run_id],
    ).to_pylist()
    tables: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row["status"] == "loaded":
            loaded, quarantined = tables.get(row["table_name"], (0, 0))
            tables[row["table_name"]] = (
                loaded + int(row["rows_loaded"] or 0),
                quarantined + int(row["rows_quarantined"] or 0),
            )
    rejected = [(str(r["file_path"]), str(r["reason"])) for r in rows if r["status"] == "rejected"]
    loaded = sorted(str(r["file_path"]) for r in rows if r["status"] == "loaded")
    return BatchInput(tables, rejected, loaded)


def read_last_daily(session: WarehouseSession) -> tuple[date | None, bool]:
    """The newest day the daily sync applied, and whether it was published under an override."""
    risk = risk_schema()
    last = session.fetch_arrow(f"select max(as_of_date) as d from {risk}.{SYNC_RUNS_TABLE}").to_pylist()[0]["d"]
    overridden = bool(
        last is not None
        and session.fetch_arrow(
            f"select count(*) as n from {risk}.{OVERRIDES_TABLE} where as_of_date = ?", [last]
        ).to_pylist()[0]["n"]
    )
    return last, overridden


def read_gate_state(session: WarehouseSession, day: date, limits: IntradayLimits) -> GateState:
    risk = risk_schema()
    last, overridden = read_last_daily(session)
    earlier = session.fetch_arrow(
        f"select count(*) as n from {risk}.{DECISIONS_TABLE} where {SOURCE_COLUMN} = ? and as_of_date = ?",
        [INTRADAY, day],
    ).to_pylist()[0]["n"]
    daily = session.fetch_arrow(
        f"select as_of_date, count(*) as n from {risk}.{DECISIONS_TABLE}"
        f" where {SOURCE_COLUMN} <> ? and as_of_date >= ? and as_of_date < ?"
        " and decision in ('review', 'block') and coalesce(previous_decision, 'none') in ('none', 'removed')"
        " group by as_of_date",
        [INTRADAY, day - timedelta(days=limits.baseline_days), day],
    ).to_pylist()
    return GateState(last, overridden, int(earlier), tuple(int(r["n"]) for r in daily))


def decide(
    warehouse: Warehouse,
    batch_day: date,
    batch_id: str,
    scores: pd.DataFrame,
    batch_input: BatchInput,
    now: Callable[[], datetime],
    limits: IntradayLimits | None = None,
    thresholds: PublicationThresholds | None = None,
) -> Escalation:
    """The batch's escalations and its gate's verdict, from the sync as it is now. Commit with
    `ml.live.batch.record_batch`, which refuses (StaleSyncError) if the sync moved meanwhile."""
    limits, thresholds = limits or IntradayLimits(), thresholds or PublicationThresholds()
    with warehouse.session() as session:
        seen = store.read_sync(session, batch_id)  # the batch's accounts' rows only
        state = read_gate_state(session, batch_day, limits)
    diff = escalation_diff(seen.current, scores, batch_day, now(), batch_id)
    checks = batch_checks(scores, diff, batch_day, state, batch_input, limits, thresholds)
    return Escalation(diff, tuple(checks), seen)
