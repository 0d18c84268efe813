from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from ml.evaluate.catch_time import Paths, catch_times, summarise

PATHS = Paths(nrt_latency=timedelta(seconds=120), daily_run=timedelta(minutes=5))


def _attacks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["ato", "pf", "missed"],
            "abuse_type": ["account_takeover", "payment_fraud", "payment_fraud"],
            "started_at": pd.to_datetime(["2026-07-10 15:00", "2026-07-10 09:00", "2026-07-12 10:00"]),
            "first_order_at": pd.to_datetime(["2026-07-10 16:00", "2026-07-10 09:00", "2026-07-12 10:00"]),
            "second_order_at": pd.to_datetime(["2026-07-11 01:00", None, "2026-07-12 11:00"]),
        }
    )


def _daily() -> pd.DataFrame:
    return pd.DataFrame(
        {
            # An old flag (before the day before the start) is not a catch of this attack.
            "account_id": ["ato", "ato", "pf", "pf", "missed"],
            "as_of_date": [
                date(2026, 7, 1),
                date(2026, 7, 10),
                date(2026, 7, 10),
                date(2026, 7, 11),
                date(2026, 7, 12),
            ],
            "flagged": [True, True, False, True, False],
        }
    )


def _intraday() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["ato", "ato", "pf"],
            "cutoff": pd.to_datetime(["2026-07-10 15:10", "2026-07-10 15:40", "2026-07-12 05:00"]),
            "flagged": [False, True, True],
        }
    )


def test_each_path_catches_at_its_own_time():
    caught = catch_times(_attacks(), _daily(), _intraday(), PATHS).set_index("account_id")

    # Daily only: the run for the first flagged day publishes at 02:00 the next day, plus its duration.
    assert caught.loc["ato", "daily_caught_at"] == datetime(2026, 7, 11, 2, 5)
    assert caught.loc["pf", "daily_caught_at"] == datetime(2026, 7, 12, 2, 5)
    # Near-real-time: the first flagged cut-off plus the path's latency...
    assert caught.loc["ato", "nrt_caught_at"] == datetime(2026, 7, 10, 15, 42)
    assert caught.loc["ato", "nrt_delay_s"] == 42 * 60
    # ...or the daily run, which keeps running, when it comes first.
    assert caught.loc["pf", "nrt_caught_at"] == datetime(2026, 7, 12, 2, 5)
    assert pd.isna(caught.loc["missed", "daily_caught_at"]) and pd.isna(caught.loc["missed", "nrt_caught_at"])


def test_summary_counts_the_uncaught_as_never_caught():
    summary = summarise(catch_times(_attacks(), _daily(), _intraday(), PATHS))

    takeover = summary["account_takeover"]
    assert takeover["attacks"] == 1
    assert takeover["nrt"]["delay_median_s"] == 42 * 60
    assert takeover["nrt"]["before_second_order"] == 1.0
    assert takeover["daily"]["before_second_order"] == 0.0
    assert takeover["nrt_earlier_than_daily"] == 1.0

    fraud = summary["payment_fraud"]
    assert fraud["attacks"] == 2 and fraud["with_second_order"] == 1
    assert fraud["daily"]["caught"] == 0.5
    # The median of one caught (41 h 5 min) and one never caught falls on the caught one; the
    # p95 falls on the never caught.
    assert fraud["daily"]["delay_median_s"] == pytest.approx((41 * 60 + 5) * 60)
    assert fraud["daily"]["delay_p95_s"] is None
    assert fraud["daily"]["before_second_order"] == 0.0
    assert fraud["nrt_earlier_than_daily"] == 0.0


def test_the_intraday_gate_and_the_reconciliation_are_counted():
    attacks = pd.DataFrame(
        {
            "account_id": ["night", "lifted", "kept"],
            "abuse_type": ["payment_fraud", "account_takeover", "account_takeover"],
            "started_at": pd.to_datetime(["2026-07-13 00:10", "2026-07-14 10:00", "2026-07-14 10:00"]),
            "first_order_at": pd.to_datetime(["2026-07-13 00:10", "2026-07-14 11:00", "2026-07-14 11:00"]),
            "second_order_at": pd.to_datetime(["2026-07-13 09:00", "2026-07-15 09:00", "2026-07-15 09:00"]),
        }
    )
    daily = pd.DataFrame(
        {
            "account_id": ["night", "lifted", "kept"],
            "as_of_date": [date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 14)],
            "flagged": [False, False, True],
        }
    )
    intraday = pd.DataFrame(
        {
            "account_id": ["night", "night", "lifted", "kept"],
            # 00:20 + 2 min is before the daily run of 07-12 published (02:05): the gate refuses
            # it, and the first batch after the publication decides it again.
            "cutoff": pd.to_datetime(["2026-07-13 00:20", "2026-07-13 03:00", "2026-07-14 10:30", "2026-07-14 10:30"]),
            "flagged": [True, True, True, True],
        }
    )

    caught = catch_times(attacks, daily, intraday, PATHS).set_index("account_id")

    assert caught.loc["night", "nrt_caught_at"] == datetime(2026, 7, 13, 2, 7)
    # Both escalated at 10:32; the daily run of 07-14 lifts one review at 02:05 the next morning.
    assert caught.loc["lifted", "nrt_caught_at"] == caught.loc["kept", "nrt_caught_at"] == datetime(2026, 7, 14, 10, 32)
    assert not caught.loc["lifted", "nrt_held_at_second_order"]
    assert caught.loc["kept", "nrt_held_at_second_order"] and caught.loc["kept", "daily_held_at_second_order"]
    assert not caught.loc["lifted", "daily_held_at_second_order"]
    assert caught.loc["night", "nrt_held_at_second_order"] and not caught.loc["night", "daily_held_at_second_order"]
    summary = summarise(caught.reset_index())["account_takeover"]["nrt"]
    assert summary["before_second_order"] == 1.0 and summary["held_at_second_order"] == 0.5
