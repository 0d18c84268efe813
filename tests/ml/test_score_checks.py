import numpy as np
import pandas as pd

from ml.score.checks import (
    band_rates,
    band_rates_stable,
    no_missing_scores,
    population_matches,
    scores_within_unit_interval,
)


def _scores(n: int = 1000, review: int = 20, block: int = 5) -> pd.DataFrame:
    bands = ["block"] * block + ["review"] * review + ["allow"] * (n - review - block)
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "score": np.linspace(0.9, 0.0, n), "band": bands})


def test_clean_scores_pass_every_check():
    scores = _scores()
    assert no_missing_scores(scores)[0] and scores_within_unit_interval(scores)[0]
    assert population_matches(scores, 1000)[0]
    assert band_rates_stable(band_rates(scores), band_rates(_scores(review=24)))[0]


def test_nan_null_and_out_of_range_scores_fail():
    scores = _scores()
    scores.loc[3, "score"] = np.nan
    scores.loc[4, "band"] = None
    assert no_missing_scores(scores) == (False, "2 null/NaN scores or bands among 1000 rows")
    scores.loc[5, "score"] = 1.5
    assert not scores_within_unit_interval(scores)[0]


def test_a_missing_or_duplicated_account_fails_the_population_check():
    assert not population_matches(_scores(), 1001)[0]
    twice = pd.concat([_scores(), _scores().head(1)])
    assert not population_matches(twice, 1001)[0]


def test_a_jump_in_the_block_rate_alerts():
    ok, detail = band_rates_stable(band_rates(_scores(block=30)), band_rates(_scores(block=5)))
    assert not ok and detail.startswith("block 0.50% -> 3.00%")


def test_an_implausible_jump_is_told_apart_from_an_alert():
    from ml.score.checks import IMPLAUSIBLE_JUMP

    alert = band_rates_stable(band_rates(_scores(block=12)), band_rates(_scores(block=5)))
    implausible = band_rates_stable(band_rates(_scores(block=80)), band_rates(_scores(block=5)), IMPLAUSIBLE_JUMP)
    assert (
        not alert[0]
        and band_rates_stable(band_rates(_scores(block=12)), band_rates(_scores(block=5)), IMPLAUSIBLE_JUMP)[0]
    )
    assert not implausible[0]
