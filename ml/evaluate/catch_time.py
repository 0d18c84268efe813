"""How soon an attack is caught: near-real-time re-scoring against the daily run alone.

For each attacked account (ground truth) the clock starts at the attack (a takeover's hijacking
login, a stolen-card fraudster's first order) and stops when the account's sync row says
`review` or `block`:
- **daily only**: the first as-of day D, from the day before the start on, whose end-of-day
  score is flagged; the daily run for D publishes at `daily_at` the next morning, plus the
  run's duration;
- **near-real-time**: the first landing time (cut-off) at which the account's intraday vector,
  the daily mart's SQL over the rows landed by then, is flagged, plus the path's latency from
  landing to the sync row (or after the day before's daily run has published, when the
  intraday gate waited for it); or the daily run's catch when it comes first (it keeps running).

A catch is the first time the account reaches `review`/`block`. The daily run lifts an intraday
review its end-of-day score does not confirm, so each path also says whether it still holds
the account when the second order is placed.

Pure functions over frames; `bench/catch_time.py` computes the flags on a demo warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Paths:
    """When each path's decision reaches the sync table."""

    nrt_latency: timedelta  # a landed file -> its batch's escalation in the sync (measured: bench-live)
    daily_run: timedelta  # the daily run's duration, from its schedule to the sync
    daily_at: time = time(2, 0)  # the daily run's schedule, for the day before (UTC)

    def daily_published(self, as_of: date) -> datetime:
        return datetime.combine(as_of + timedelta(days=1), self.daily_at) + self.daily_run


def catch_times(
    attacks: pd.DataFrame, daily_flags: pd.DataFrame, intraday_flags: pd.DataFrame, paths: Paths
) -> pd.DataFrame:
    """One row per attack with when each path catches it (NaT: not within what was scored), and
    whether each path holds it in `review`/`block` when its second order is placed.

    attacks: account_id, abuse_type, started_at, first_order_at, second_order_at (NaT if none);
    daily_flags: account_id, as_of_date, flagged (end-of-day scores);
    intraday_flags: account_id, cutoff, flagged (intraday scores at landing cut-offs).

    An intraday flag escalates `nrt_latency` after its cut-off, unless the daily run of the day
    before the cut-off's day has not published yet: the intraday gate refuses that batch
    (`intraday.daily_current`) and the first batch after the daily run publishes decides its
    accounts again (`ml.live.batch.waited_since`), `nrt_latency` after it. The daily run of a day
    replaces an intraday review with its own verdict (the reconciliation): the path holds an
    account at a moment if its latest event before it, a daily verdict or an escalation, flags it.
    """
    out = attacks.copy()
    start_day = out.set_index("account_id")["started_at"].dt.date - timedelta(days=1)

    daily = daily_flags.assign(as_of_date=[_as_date(d) for d in daily_flags["as_of_date"]])
    daily = daily[daily["as_of_date"] >= daily["account_id"].map(start_day)]
    daily = daily.assign(at=pd.to_datetime([paths.daily_published(d) for d in daily["as_of_date"]]))
    daily = daily.assign(flagged=daily["flagged"].astype(bool))
    first_daily = daily[daily["flagged"]].groupby("account_id")["at"].min()
    out["daily_caught_at"] = pd.to_datetime(out["account_id"].map(first_daily))

    intraday = intraday_flags.loc[intraday_flags["flagged"].astype(bool), ["account_id", "cutoff"]].copy()
    intraday["at"] = pd.to_datetime(intraday["cutoff"]) + paths.nrt_latency
    gate_opens = [paths.daily_published(c.date() - timedelta(days=1)) for c in pd.to_datetime(intraday["cutoff"])]
    # A batch refused for that is decided again by the first batch after the daily run publishes.
    intraday["at"] = intraday["at"].where(
        intraday["at"] >= pd.to_datetime(gate_opens), pd.to_datetime(gate_opens) + paths.nrt_latency
    )
    out["intraday_caught_at"] = pd.to_datetime(out["account_id"].map(intraday.groupby("account_id")["at"].min()))
    out["nrt_caught_at"] = pd.concat([out["intraday_caught_at"], out["daily_caught_at"]], axis=1).min(axis=1)
    for path in ("daily", "nrt"):
        out[f"{path}_delay_s"] = (out[f"{path}_caught_at"] - out["started_at"]).dt.total_seconds()

    verdicts = daily[["account_id", "at", "flagged"]]
    escalations = intraday[["account_id", "at"]].assign(flagged=True)
    out["daily_held_at_second_order"] = _held_at(out, verdicts, "second_order_at")
    out["nrt_held_at_second_order"] = _held_at(out, pd.concat([verdicts, escalations]), "second_order_at")
    return out


def _held_at(attacks: pd.DataFrame, events: pd.DataFrame, moment: str) -> pd.Series:
    """Whether each attack's latest event strictly before its `moment` flags it (NA without the
    moment)."""
    when = attacks[["account_id", moment]].dropna()
    when[moment] = when[moment].astype("datetime64[ns]")  # one resolution for both sides of the merge
    held = pd.Series(pd.NA, index=attacks.index, dtype="boolean")
    if when.empty:
        return held
    # Same-time events: a daily verdict after the escalation it reconciles.
    events = events.assign(
        at=pd.to_datetime(events["at"]).astype("datetime64[ns]"), order=events["flagged"].map({True: 0, False: 1})
    )
    events = events.sort_values(["at", "order"]).drop(columns="order")
    found = pd.merge_asof(
        when.reset_index().sort_values(moment),
        events,
        left_on=moment,
        right_on="at",
        by="account_id",
        allow_exact_matches=False,
    ).set_index("index")
    held.loc[found.index] = found["flagged"].astype("boolean").fillna(False).astype(bool)
    return held


def _as_date(value) -> date:
    return value if type(value) is date else pd.Timestamp(value).date()


def _quantile(delays: pd.Series, q: float) -> float | None:
    """A quantile counting the uncaught as never caught (inf); None when it falls on them."""
    values = np.sort(delays.fillna(np.inf).to_numpy(float))
    if not len(values):
        return None
    value = float(np.quantile(values, q, method="inverted_cdf"))
    return None if np.isinf(value) else round(value, 1)


def _share(mask: pd.Series) -> float | None:
    return round(float(mask.mean()), 4) if len(mask) else None


def summarise(caught: pd.DataFrame) -> dict[str, dict]:
    """Per abuse type and path: how many, time to catch (median, p95; seconds from the start,
    None when the quantile falls on accounts not caught), the shares caught at all, before the
    first order after the start and before the second, and the share still held in review or
    block when the second order is placed."""
    summary = {}
    for abuse_type, group in caught.groupby("abuse_type"):
        entry: dict[str, object] = {"attacks": len(group)}
        with_first = group[group["first_order_at"].notna()]
        with_second = group[group["second_order_at"].notna()]
        entry["with_first_order"] = len(with_first)
        entry["with_second_order"] = len(with_second)
        for path in ("daily", "nrt"):
            at, delay = group[f"{path}_caught_at"], group[f"{path}_delay_s"]
            entry[path] = {
                "caught": _share(at.notna()),
                "delay_median_s": _quantile(delay, 0.5),
                "delay_p95_s": _quantile(delay, 0.95),
                "before_first_order": _share(with_first[f"{path}_caught_at"] < with_first["first_order_at"]),
                "before_second_order": _share(with_second[f"{path}_caught_at"] < with_second["second_order_at"]),
                "held_at_second_order": _share(with_second[f"{path}_held_at_second_order"].astype(bool)),
            }
        entry["nrt_earlier_than_daily"] = _share(
            group["nrt_caught_at"].notna()
            & (group["daily_caught_at"].isna() | (group["nrt_caught_at"] < group["daily_caught_at"]))
        )
        summary[str(abuse_type)] = entry
    return summary
