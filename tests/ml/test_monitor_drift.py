"""Drift of a scored day against the training reference: PSI, null/zero shares, band rates, and
features that stopped arriving (which fail, unless the day is plausible under the reference)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml.monitor.drift import (
    ARRIVING_CHECK,
    FEATURE_DRIFT_CHECK,
    SCORE_DRIFT_CHECK,
    drift_checks,
    measure_day,
    psi,
    psi_level,
    stopped_arriving,
)
from ml.monitor.reference import build_reference, feature_reference
from ml.monitor.thresholds import MonitorThresholds
from ml.score.checks import ERROR, WARN

DAY = date(2026, 9, 30)
T = MonitorThresholds()


def _features(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "orders_7d": rng.poisson(2.0, n).astype("int64"),
            "spend_usd_7d": rng.gamma(2.0, 50.0, n) * (1 + shift),
            "chargebacks_30d": (rng.random(n) < 0.0005).astype("int64"),  # nearly always 0
            "card_share": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        }
    )


FEATURES = ["orders_7d", "spend_usd_7d", "chargebacks_30d", "card_share"]


def _scores(n: int, seed: int, scale: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = np.clip(rng.beta(0.5, 20, n) * scale, 0, 1)
    band = np.where(score >= 0.2, "block", np.where(score >= 0.08, "review", "allow"))
    return pd.DataFrame({"score": score, "band": band})


@pytest.fixture(scope="module")
def reference():
    return build_reference(_features(20_000, 1), FEATURES, T.bins, "train", _scores(20_000, 2)["score"], (0.08, 0.2))


def test_psi_is_zero_for_the_same_shares_and_matches_the_formula_for_a_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5]), T.psi_floor) == 0.0
    expected = (0.7 - 0.5) * np.log(0.7 / 0.5) + (0.3 - 0.5) * np.log(0.3 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.7, 0.3]), T.psi_floor) == pytest.approx(expected)
    # An empty bin on one side is floored, not infinite.
    assert np.isfinite(psi(np.array([1.0, 0.0]), np.array([0.0, 1.0]), T.psi_floor))


def test_a_day_like_the_reference_is_stable_and_every_check_passes(reference):
    drift = measure_day(DAY, _features(20_000, 3), _scores(20_000, 4), FEATURES, "7", reference, T)

    assert max(f.psi for f in drift.features) < T.psi_warn and drift.score_psi < T.psi_warn
    assert all(r.passed for r in drift_checks(drift, T))


def test_a_shifted_feature_reaches_the_error_level_and_warns_without_blocking(reference):
    drift = measure_day(DAY, _features(20_000, 3, shift=1.0), _scores(20_000, 4), FEATURES, "7", reference, T)

    spend = next(f for f in drift.features if f.feature == "spend_usd_7d")
    assert psi_level(spend.psi, T) == "error"
    checks = {r.check: r for r in drift_checks(drift, T)}
    assert not checks[FEATURE_DRIFT_CHECK].passed and checks[FEATURE_DRIFT_CHECK].severity == WARN
    assert "spend_usd_7d" in checks[FEATURE_DRIFT_CHECK].detail
    assert checks[ARRIVING_CHECK].passed


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [("orders_7d", 0, "all 20000 values 0"), ("card_share", np.nan, "values null"), ("orders_7d", 3, "values 3")],
)
def test_a_feature_that_stopped_arriving_fails_as_an_error(reference, column, value, said):
    day = _features(20_000, 3)
    day[column] = value

    drift = measure_day(DAY, day, _scores(20_000, 4), FEATURES, "7", reference, T)
    arriving = {r.check: r for r in drift_checks(drift, T)}[ARRIVING_CHECK]

    assert not arriving.passed and arriving.severity == ERROR and arriving.blocks
    assert column in arriving.detail and said in arriving.detail


def test_a_feature_rare_in_training_may_be_all_zero_on_a_day():
    rare = feature_reference("chargebacks_30d", (np.arange(20_000) < 10).astype(int), T.bins)  # 0.05% non-zero

    assert stopped_arriving(np.zeros(2_000), rare, T.dead_feature_alpha) is None
    # ... but not on a day so large that not one non-zero value is implausible.
    assert stopped_arriving(np.zeros(200_000), rare, T.dead_feature_alpha) is not None


def test_a_champion_without_a_reference_says_so_and_still_judges_dead_features_on_the_fallback(reference):
    day = _features(5_000, 3)
    day["orders_7d"] = 0

    drift = measure_day(DAY, day, _scores(5_000, 4), FEATURES, "3", None, T, fallback=reference)
    checks = {r.check: r for r in drift_checks(drift, T)}

    assert not checks[FEATURE_DRIFT_CHECK].passed and checks[FEATURE_DRIFT_CHECK].severity == WARN
    assert "v3 carries no training reference" in checks[FEATURE_DRIFT_CHECK].detail
    assert "v3 carries no training reference" in checks[SCORE_DRIFT_CHECK].detail
    assert not checks[ARRIVING_CHECK].passed and "orders_7d" in checks[ARRIVING_CHECK].detail


def test_band_rates_far_from_the_reference_warn(reference):
    drift = measure_day(DAY, _features(20_000, 3), _scores(20_000, 4, scale=3.0), FEATURES, "7", reference, T)

    score = {r.check: r for r in drift_checks(drift, T)}[SCORE_DRIFT_CHECK]
    assert not score.passed and score.severity == WARN
    assert (
        "block rate beyond 2x" in score.detail and drift.band_rates["block"] > 2 * drift.reference_band_rates["block"]
    )
