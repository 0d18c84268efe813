"""The training reference saved with a model version: histograms that keep a zero-inflated
count's zeros apart, exact null and zero shares, and a JSON round trip through the registry."""

import numpy as np
import pandas as pd
import pytest

from ml.monitor.reference import Histogram, TrainingReference, build_reference, feature_reference
from ml.policy import DecisionPolicy, PolicyCosts
from ml.registry import CHALLENGER, ModelRegistry
from ml.train.model import TrainConfig, train_risk_model

FEATURES = ["signal", "noise"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.05
    return pd.DataFrame({"signal": rng.normal(0, 1, n) + 2 * bad, "noise": rng.normal(0, 1, n), "is_bad": bad})


def test_a_zero_inflated_count_keeps_zero_as_its_own_bin_with_integer_edges():
    counts = np.r_[np.zeros(700), np.arange(300) % 5 + 1]

    histogram = Histogram.fit(counts, bins=10)

    assert histogram.edges[0] == 0.0 and all(float(e).is_integer() for e in histogram.edges)
    assert histogram.shares[0] == pytest.approx(0.7)
    assert sum(histogram.shares) == pytest.approx(1.0)
    assert histogram.labels()[0] == "<= 0" and histogram.labels()[-1] == "null"


def test_nulls_fall_in_their_own_bin_and_shares_are_exact():
    values = pd.Series([0, 1, 2, None] * 25, dtype="Int64")

    reference = feature_reference("x", values, bins=10)

    assert reference.null_share == pytest.approx(0.25) and reference.zero_share == pytest.approx(0.25)
    assert reference.histogram.shares[-1] == pytest.approx(0.25)
    assert reference.histogram.shares_of([np.nan, np.nan])[-1] == 1.0


def test_the_score_histogram_cuts_at_the_policy_thresholds_and_band_rates_follow_them():
    scores = np.linspace(0, 1, 1000, endpoint=False)

    reference = build_reference(pd.DataFrame({"a": range(10)}), ["a"], 10, "test", scores, (0.93, 0.985))

    assert {0.93, 0.985} <= set(reference.score.edges)
    assert reference.band_rates == pytest.approx({"allow": 0.93, "review": 0.055, "block": 0.015})


def test_a_version_logged_with_a_reference_loads_it_back_and_one_without_loads_none(tmp_path):
    model = train_risk_model(_frame(2000, 1), _frame(1000, 2), FEATURES, TrainConfig(max_rounds=20, nthread=1))
    policy = DecisionPolicy(0.1, 0.5, PolicyCosts(), {"reviewed_per_day": 3.0})
    train = _frame(2000, 1)
    reference = build_reference(train, FEATURES, 10, "train block", model.predict_proba(_frame(1000, 2)), (0.1, 0.5))
    registry = ModelRegistry.from_env(tmp_path)
    with registry.run(run_name="with"):
        registry.log_model(model, policy, train.head(5), reference)
    with_reference = registry.load(CHALLENGER)
    with registry.run(run_name="without"):
        registry.log_model(model, policy, train.head(5))
    without = registry.load(CHALLENGER)

    assert with_reference.reference == reference
    assert TrainingReference.from_dict(reference.to_dict()) == reference
    assert without.version == "2" and without.reference is None
