import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from ml.score.checks import (
    ERROR,
    WARN,
    band_rate_stable,
    decisions_explained,
    freshness_check,
    no_missing_scores,
    poisson_cdf,
    poisson_sf,
    population_matches,
    quarantine_check,
    rejected_files_check,
    scores_within_unit_interval,
    volume_check,
)
from ml.score.thresholds import PublicationThresholds

T = PublicationThresholds()
DAY = date(2026, 3, 15)


def _scores(n: int = 1000, review: int = 20, block: int = 5) -> pd.DataFrame:
    bands = ["block"] * block + ["review"] * review + ["allow"] * (n - review - block)
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "score": np.linspace(0.9, 0.0, n), "band": bands})


def test_clean_scores_pass_every_check():
    scores = _scores()
    assert no_missing_scores(scores).passed and scores_within_unit_interval(scores).passed
    assert population_matches(scores, 1000).passed


def test_nan_null_and_out_of_range_scores_fail():
    scores = _scores()
    scores.loc[3, "score"] = np.nan
    scores.loc[4, "band"] = None
    missing = no_missing_scores(scores)
    assert not missing.passed and missing.detail == "2 null/NaN scores or bands among 1000 rows"
    scores.loc[5, "score"] = 1.5
    assert scores_within_unit_interval(scores).blocks


def test_a_flagged_account_without_a_reason_refuses_the_day():
    scores = _scores().assign(reason_code_1=None, reason_text_1=None)
    flagged = scores["band"] != "allow"
    scores.loc[flagged, ["reason_code_1", "reason_text_1"]] = ["CARD_VELOCITY", "3 cards added in the last day"]
    assert decisions_explained(scores).passed  # allowed accounts need none
    scores.loc[0, "reason_text_1"] = None  # a block with a code but no text
    scores.loc[7, "reason_code_1"] = None  # a review without a code
    result = decisions_explained(scores)
    assert result.blocks and result.statistic == 2
    assert result.detail == "2 of 25 flagged accounts without a reason code and text"


def test_a_missing_or_duplicated_account_fails_the_population_check():
    assert population_matches(_scores(), 1001).blocks
    twice = pd.concat([_scores(), _scores().head(1)])
    assert population_matches(twice, 1001).blocks
    assert population_matches(_scores(n=0, review=0, block=0), 0).blocks  # nothing scored is not a pass


def test_poisson_tails_match_known_values():
    assert poisson_cdf(0, 2.0) == pytest.approx(np.exp(-2))
    assert poisson_cdf(3, 3.0) == pytest.approx(0.647232, abs=1e-6)
    assert poisson_sf(6, 1.0) == pytest.approx(1 - sum(np.exp(-1) / math.factorial(i) for i in range(6)), rel=1e-9)
    assert poisson_sf(0, 5.0) == 1.0 and poisson_cdf(-1, 5.0) == 0.0
    assert poisson_cdf(100_000, 300_000.0) < 1e-300  # far below: no overflow, no NaN


def test_a_block_rate_collapsed_to_zero_fails():
    baseline = [0.02] * 7  # 20 blocks a day among 1000 accounts

    result = band_rate_stable("block", 0, 1000, baseline, T)

    assert result.blocks and result.detail.startswith("collapsed")


def test_a_quiet_day_of_a_rare_band_is_not_a_collapse():
    # 2 blocks a day on average: a day with none happens (P = 0.14), so it must not stop the sync.
    assert band_rate_stable("block", 0, 1000, [0.002] * 7, T).passed


def test_an_implausible_spike_fails_and_a_smaller_jump_only_warns():
    baseline = [0.005] * 7  # 5 blocks a day among 1000
    spike = band_rate_stable("block", 80, 1000, baseline, T)
    jump = band_rate_stable("block", 12, 1000, baseline, T)
    assert spike.blocks and spike.detail.startswith("spiked")
    assert not jump.passed and jump.severity == WARN and not jump.blocks


def test_without_a_previous_scored_day_the_band_rate_is_not_judged():
    assert band_rate_stable("block", 0, 1000, [], T).passed


def test_a_collapsed_table_fails_the_volume_check_and_a_normal_day_passes():
    history = [400, 380, 420, 390, 410, 405, 395, 415]
    assert volume_check("orders", 390, history, T).passed
    collapsed = volume_check("orders", 0, history, T)
    assert collapsed.blocks and "collapsed" in collapsed.detail
    assert volume_check("orders", 150, history, T).blocks  # below half the median, and not noise


def test_bursty_and_sparse_tables_need_an_implausible_drop_to_fail():
    assert volume_check("bids", 110, [600] * 20, T).passed  # bursty: a fifth of the median is a normal day
    assert volume_check("bids", 0, [600] * 20, T).blocks
    assert volume_check("enforcement_actions", 0, [2, 1, 3, 2, 0, 2, 1, 2], T).passed  # a quiet day


def test_too_little_history_is_not_judged():
    assert volume_check("orders", 0, [400] * 3, T).passed


def test_freshness_is_judged_relative_to_the_day_not_the_wall_clock():
    near_midnight = datetime(2026, 3, 15, 23, 40)
    assert freshness_check("orders", DAY, near_midnight, 400, T).passed
    late = freshness_check("orders", DAY, datetime(2026, 3, 14, 23, 50), 400, T)
    assert late.blocks and "stale" in late.detail and late.statistic == pytest.approx(24 + 1 / 6)
    assert freshness_check("orders", DAY, None, 400, T).blocks
    assert freshness_check("user_reports", DAY, datetime(2026, 3, 12), 2, T).passed  # sparse: not judged


def test_a_day_mostly_quarantined_fails_but_one_bad_row_of_a_sparse_table_does_not():
    assert quarantine_check("orders", 0, 380, T).blocks
    assert quarantine_check("orders", 380, 4, T).passed
    assert quarantine_check("refunds", 9, 1, T).passed  # 10%, but one row


def test_rejected_files_fail_with_their_reasons():
    result = rejected_files_check([("orders/x.csv", "cannot read")])
    assert result.blocks and "orders/x.csv: cannot read" in result.detail
    assert rejected_files_check([]).passed and rejected_files_check([]).severity == ERROR
