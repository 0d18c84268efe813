import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss

from ml.train.model import TrainConfig, train_risk_model

FEATURES = ["signal", "noise", "weak"]


def _frame(n: int, seed: int, bad_rate: float = 0.03) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    is_bad = rng.random(n) < bad_rate
    return pd.DataFrame(
        {
            "signal": rng.normal(0, 1, n) + 2.0 * is_bad,
            "noise": rng.normal(0, 1, n),
            "weak": rng.normal(0, 1, n) + 0.5 * is_bad,
            "is_bad": is_bad,
        }
    )


CONFIG = TrainConfig(max_rounds=300, early_stopping_rounds=20, nthread=1)


@pytest.fixture(scope="module")
def model():
    return train_risk_model(_frame(6000, 1), _frame(3000, 2), FEATURES, CONFIG)


def test_the_same_data_and_seed_give_the_same_model(model):
    again = train_risk_model(_frame(6000, 1), _frame(3000, 2), FEATURES, CONFIG)
    test = _frame(2000, 3)
    np.testing.assert_array_equal(model.predict_proba(test), again.predict_proba(test))
    assert model.weighting == again.weighting and model.best_iteration == again.best_iteration


def test_both_weightings_are_compared_and_the_better_one_is_kept(model):
    scores = model.validation_average_precision
    assert set(scores) == {"none", "balanced"}
    assert scores[model.weighting] == max(scores.values())


def test_early_stopping_stops_before_the_round_limit(model):
    assert model.best_iteration < CONFIG.max_rounds - 1


def test_the_model_ranks_bad_accounts_first_on_unseen_data(model):
    test = _frame(4000, 4)
    ap = average_precision_score(test["is_bad"], model.predict_proba(test))
    assert ap > 0.3 > test["is_bad"].mean() * 3


def test_calibrated_probabilities_match_the_observed_bad_rate(model):
    test = _frame(20000, 5)
    calibrated = model.predict_proba(test)
    assert calibrated.min() >= 0 and calibrated.max() <= 1
    assert abs(calibrated.mean() - test["is_bad"].mean()) < 0.25 * test["is_bad"].mean()


def test_calibration_repairs_scores_inflated_by_class_weighting():
    # With balanced weights the raw scores overstate risk several-fold; isotonic calibration
    # on validation must bring them back to probabilities.
    model = train_risk_model(_frame(6000, 1), _frame(3000, 2), FEATURES, CONFIG)
    from ml.train import model as model_module

    booster = model_module._fit_booster(
        model_module._matrix(_frame(6000, 1), FEATURES, "is_bad"),
        model_module._matrix(_frame(3000, 2), FEATURES, "is_bad"),
        CONFIG,
        scale_pos_weight=30.0,
    )
    model.booster, model.best_iteration = booster, int(booster.best_iteration)
    valid = _frame(3000, 2)
    model.calibration = model_module.Calibration.fit(model.predict_raw(valid), valid["is_bad"])
    test = _frame(20000, 5)
    raw, calibrated = model.predict_raw(test), model.predict_proba(test)
    assert raw.mean() > 3 * test["is_bad"].mean()
    assert brier_score_loss(test["is_bad"], calibrated) < 0.5 * brier_score_loss(test["is_bad"], raw)


def test_a_block_without_bad_accounts_is_refused():
    frame = _frame(500, 6)
    frame["is_bad"] = False
    with pytest.raises(ValueError, match="both bad and good"):
        train_risk_model(frame, _frame(500, 7), FEATURES, CONFIG)


def test_a_saved_model_loads_back_with_identical_predictions(model, tmp_path):
    from ml.train.model import RiskModel

    model.save(tmp_path / "m")
    loaded = RiskModel.load(tmp_path / "m")
    test = _frame(2000, 8)
    np.testing.assert_allclose(loaded.predict_proba(test), model.predict_proba(test), rtol=0, atol=1e-7)
    assert loaded.features == model.features and loaded.best_iteration == model.best_iteration


def test_contributions_add_up_to_the_raw_log_odds(model):
    test = _frame(500, 9)
    contributions = model.contributions(test)
    raw = model.predict_raw(test)
    log_odds = np.log(raw / (1 - raw))
    bias = log_odds - contributions.sum(axis=1).to_numpy()
    assert list(contributions.columns) == FEATURES
    np.testing.assert_allclose(bias, bias[0], atol=1e-3)  # the same bias term for every row
    assert contributions["signal"].abs().mean() > contributions["noise"].abs().mean()


def test_centered_isotonic_calibration_is_close_to_isotonic_without_its_ties():
    from sklearn.isotonic import IsotonicRegression

    from ml.train.model import Calibration

    rng = np.random.default_rng(0)
    raw = rng.random(20_000)
    labels = pd.Series(rng.random(raw.size) < raw**2)
    calibration = Calibration.fit(raw, labels)
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)

    probe = np.sort(rng.uniform(calibration.raw[0], calibration.raw[-1], 5_000))
    centered, stepped = calibration.predict(probe), isotonic.predict(probe)
    assert np.all(np.diff(centered) >= 0) and len(np.unique(centered)) > 0.99 * len(probe)  # no steps
    assert len(np.unique(stepped)) < 0.2 * len(probe)  # what it replaces
    assert np.abs(centered - stepped).mean() < 0.02
    assert abs(calibration.predict(raw).mean() - labels.mean()) < 0.01
    assert calibration.predict(np.array([-1.0, 2.0])).tolist() == [
        calibration.probability[0],
        calibration.probability[-1],
    ]
