"""How soon an attack is caught: near-real-time re-scoring against the daily run alone.

For each attacked account (ground truth) the clock starts at the attack (a takeover's hijacking
login, a stolen-card fraudster's first order) and stops when the account's sync row says
`review` or `block`:
- **daily only**: the first as-of day D, from the day before the start on, whose end-of-day
  score is flagged; the daily run for D publishes at `daily_at` the next morning, plus the
  run's duration;
- **near-real-time**: the first landing time (cut-off) at which the account's intraday vector,
  the daily mart's SQL over the rows landed by then, is flagged, plus the path's latency from
  landing to the sync row; or the daily run's catch when it comes first (it keeps running).

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
    """One row per attack with when each path catches it (NaT: not within what was scored).

    attacks: account_id, abuse_type, started_at, first_order_at, second_order_at (NaT if none);
    daily_flags: account_id, as_of_date, flagged (end-of-day scores);
    intraday_flags: account_id, cutoff, flagged (intraday scores at landing cut-offs).
    """
    out = attacks.copy()
    start_day = out.set_index("account_id")["started_at"].dt.date - timedelta(days=1)

    daily = daily_flags.loc[daily_flags["flagged"].astype(bool)].copy()
    daily = daily[pd.to_datetime(daily["as_of_date"]).dt.date >= daily["account_id"].map(start_day)]
    first_day = daily.groupby("account_id")["as_of_date"].min()
    out["daily_caught_at"] = pd.to_datetime(
        out["account_id"].map(lambda a: paths.daily_published(_as_date(first_day[a])) if a in first_day else pd.NaT)
    )

    intraday = intraday_flags.loc[intraday_flags["flagged"].astype(bool)]
    first_cutoff = intraday.groupby("account_id")["cutoff"].min()
    escalated = pd.to_datetime(out["account_id"].map(first_cutoff)) + paths.nrt_latency
    out["intraday_caught_at"] = escalated
    out["nrt_caught_at"] = pd.concat([escalated, out["daily_caught_at"]], axis=1).min(axis=1)
    for path in ("daily", "nrt"):
        out[f"{path}_delay_s"] = (out[f"{path}_caught_at"] - out["started_at"]).dt.total_seconds()
    return out


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
    None when the quantile falls on accounts not caught), and the shares caught at all, before
    the first order after the start and before the second."""
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
            }
        entry["nrt_earlier_than_daily"] = _share(
            group["nrt_caught_at"].notna()
            & (group["daily_caught_at"].isna() | (group["nrt_caught_at"] < group["daily_caught_at"]))
        )
        summary[str(abuse_type)] = entry
    return summary
