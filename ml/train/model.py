"""Fit the XGBoost risk model: hist trees, early stopping on the validation block, a deliberate
choice of class weighting, and probability calibration fitted on validation only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score

WEIGHTINGS = ("none", "balanced")


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 7
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    learning_rate: float = 0.05
    max_depth: int = 6
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    nthread: int = 2

    def xgb_params(self, scale_pos_weight: float) -> dict[str, object]:
        return {
            "objective": "binary:logistic",
            "eval_metric": "aucpr",
            "tree_method": "hist",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "scale_pos_weight": scale_pos_weight,
            "seed": self.seed,
            "nthread": self.nthread,
        }


@dataclass
class RiskModel:
    """A fitted booster plus its calibrator: `predict_proba` gives calibrated probabilities."""

    booster: xgb.Booster
    calibrator: IsotonicRegression
    features: list[str]
    weighting: str
    best_iteration: int
    validation_average_precision: dict[str, float] = field(default_factory=dict)

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        matrix = xgb.DMatrix(frame[self.features].astype("float32"), feature_names=self.features)
        return self.booster.predict(matrix, iteration_range=(0, self.best_iteration + 1))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.calibrator.predict(self.predict_raw(frame))


def _matrix(frame: pd.DataFrame, features: list[str], label: str) -> xgb.DMatrix:
    return xgb.DMatrix(frame[features].astype("float32"), label=frame[label].astype("int8"), feature_names=features)


def _fit_booster(train: xgb.DMatrix, valid: xgb.DMatrix, config: TrainConfig, scale_pos_weight: float) -> xgb.Booster:
    return xgb.train(
        config.xgb_params(scale_pos_weight),
        train,
        num_boost_round=config.max_rounds,
        evals=[(valid, "validation")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )


def train_risk_model(
    train: pd.DataFrame, valid: pd.DataFrame, features: list[str], config: TrainConfig, label: str = "is_bad"
) -> RiskModel:
    """Fit once per weighting option and keep the one with the better validation average
    precision (ties keep no weighting: calibration is easier without reweighted scores).

    Calibration (isotonic) is fitted on the validation block, which the trees never train on.
    """
    positives = float(train[label].sum())
    if positives == 0 or positives == len(train):
        raise ValueError("the training block needs both bad and good snapshots")
    balanced = (len(train) - positives) / positives
    dtrain, dvalid = _matrix(train, features, label), _matrix(valid, features, label)
    fitted: dict[str, xgb.Booster] = {}
    scores: dict[str, float] = {}
    for weighting in WEIGHTINGS:
        booster = _fit_booster(dtrain, dvalid, config, balanced if weighting == "balanced" else 1.0)
        raw = booster.predict(dvalid, iteration_range=(0, booster.best_iteration + 1))
        fitted[weighting] = booster
        scores[weighting] = float(average_precision_score(valid[label], raw))
    chosen = max(WEIGHTINGS, key=lambda w: (scores[w], w == "none"))
    booster = fitted[chosen]
    raw_valid = booster.predict(dvalid, iteration_range=(0, booster.best_iteration + 1))
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw_valid, valid[label])
    return RiskModel(
        booster=booster,
        calibrator=calibrator,
        features=list(features),
        weighting=chosen,
        best_iteration=int(booster.best_iteration),
        validation_average_precision=scores,
    )
