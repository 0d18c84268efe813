"""TreeSHAP from per-leaf tables: the values XGBoost's `pred_contribs` gives, row by row."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.train import treeshap
from ml.train.model import RiskModel, TrainConfig, train_risk_model
from ml.train.treeshap import TreeShapTables


def _data(n: int, seed: int, features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    x[:, 3] = np.round(x[:, 3])  # ties and exact thresholds
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] - 0.3 * x[:, 3] + rng.normal(scale=0.5, size=n) > 0.8).astype(int)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the default branch
    return x, y


def _booster(depth: int, rounds: int, seed: int = 0) -> tuple[xgb.Booster, np.ndarray]:
    x, y = _data(3000, seed)
    params = {"objective": "binary:logistic", "max_depth": depth, "eta": 0.3, "seed": seed, "nthread": 1}
    # Few features, deep trees: features repeat on a path, which TreeSHAP must merge.
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds), x


def _pred_contribs(booster: xgb.Booster, x: np.ndarray, rounds: int) -> np.ndarray:
    matrix = xgb.DMatrix(x, feature_names=booster.feature_names)
    return booster.predict(matrix, pred_contribs=True, iteration_range=(0, rounds))[:, :-1]


@pytest.mark.parametrize(("depth", "rounds"), [(1, 5), (3, 20), (6, 40)])
def test_table_contributions_are_xgboosts_treeshap_values(depth, rounds):
    booster, _ = _booster(depth, rounds)
    x, _ = _data(700, seed=1)
    tables = TreeShapTables.build(booster, rounds)

    ours = tables.contributions(x)

    np.testing.assert_allclose(ours, _pred_contribs(booster, x, rounds), rtol=0, atol=2e-5)
    assert np.abs(ours).max() > 0.1  # not trivially zero


def test_only_the_first_rounds_count_as_with_iteration_range():
    booster, _ = _booster(4, 30)
    x, _ = _data(300, seed=2)
    early = TreeShapTables.build(booster, 12).contributions(x)
    np.testing.assert_allclose(early, _pred_contribs(booster, x, 12), rtol=0, atol=2e-5)
    assert not np.allclose(early, _pred_contribs(booster, x, 30), atol=1e-3)


def test_a_rows_values_do_not_depend_on_the_rows_computed_with_it():
    booster, _ = _booster(6, 40)
    x, _ = _data(600, seed=3)  # more than one chunk of rows
    tables = TreeShapTables.build(booster, 40)
    whole = tables.contributions(x)
    np.testing.assert_array_equal(tables.contributions(x[[517]]), whole[[517]])
    np.testing.assert_array_equal(tables.contributions(x[::-1])[::-1], whole)


def test_trees_too_deep_for_tables_are_declined(monkeypatch):
    booster, _ = _booster(6, 10)
    monkeypatch.setattr(treeshap, "MAX_TABLE_ENTRIES", 1000)
    assert TreeShapTables.build(booster, 10) is None


def test_a_matrix_of_the_wrong_width_is_refused():
    booster, _ = _booster(2, 3)
    with pytest.raises(ValueError, match=r"expected a \(rows, 8\) matrix"):
        TreeShapTables.build(booster, 3).contributions(np.zeros((2, 7), dtype=np.float32))


@pytest.fixture(scope="module")
def risk_model() -> RiskModel:
    x, y = _data(4000, seed=4)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(8)]).assign(is_bad=y)
    return train_risk_model(frame[:3000], frame[3000:], [f"f{i}" for i in range(8)], TrainConfig(nthread=1))


def test_the_models_contributions_are_xgboosts_and_deep_models_fall_back_to_it(risk_model, monkeypatch):
    x, _ = _data(400, seed=5)
    frame = pd.DataFrame(x, columns=risk_model.features, index=[f"a{i}" for i in range(400)])
    expected = _pred_contribs(risk_model.booster, x, risk_model.best_iteration + 1)

    fast = risk_model.contributions(frame)
    assert risk_model.shap_tables() is not None and fast.index.equals(frame.index)
    np.testing.assert_allclose(fast.to_numpy(), expected, rtol=0, atol=2e-5)

    monkeypatch.setattr(treeshap, "MAX_TABLE_ENTRIES", 10)
    risk_model.best_iteration -= 0  # same booster and iteration: the built tables stay
    assert risk_model.shap_tables() is not None
    risk_model.booster = risk_model.booster.copy()  # a replaced booster is rebuilt: now too large
    assert risk_model.shap_tables() is None
    np.testing.assert_array_equal(risk_model.contributions(frame).to_numpy(), expected)
