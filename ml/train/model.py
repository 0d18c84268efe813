"""Fit the XGBoost risk model: hist trees, early stopping on the validation block, a deliberate
choice of class weighting, and probability calibration fitted on validation only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ml.train.treeshap import TreeShapTables

if TYPE_CHECKING:
    import xgboost as xgb

# XGBoost (which imports scikit-learn) is imported on use in this module: Dagster's definitions
# import it through the registry, and every run's process start would pay for both.

WEIGHTINGS = ("none", "balanced")
BOOSTER_FILE = "booster.json"
META_FILE = "risk_model.json"


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


@dataclass(frozen=True)
class Calibration:
    """Centered isotonic calibration, saved as plain JSON points (raw score -> probability).

    Plain isotonic regression is a step function: every account on a step gets the same
    probability, so a threshold cut inside a step (the review queue at capacity) must take the
    whole step or none of it. Centered isotonic regression keeps isotonic's fitted levels but
    places each at the mean raw score of its block and interpolates linearly between them:
    strictly increasing between the first and last block, clipped outside.
    """

    raw: tuple[float, ...]
    probability: tuple[float, ...]

    @classmethod
    def fit(cls, raw_scores: np.ndarray, labels: pd.Series) -> Calibration:
        from sklearn.isotonic import IsotonicRegression

        raw_scores = np.asarray(raw_scores, float)
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw_scores, labels)
        centers = pd.Series(raw_scores).groupby(iso.predict(raw_scores)).mean()  # level -> block center
        return cls(tuple(map(float, centers.to_numpy())), tuple(map(float, centers.index)))

    def predict(self, raw_scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(raw_scores, float), self.raw, self.probability)


def numeric_matrix(frame: pd.DataFrame, dtype: type[np.floating]) -> np.ndarray:
    """`frame.astype(dtype).to_numpy()`, in one pass when every column is a numpy number or bool
    (the usual case; object columns, e.g. booleans with nulls, take the pandas cast)."""
    if all(isinstance(kind, np.dtype) and kind.kind in "biuf" for kind in frame.dtypes):
        return frame.to_numpy(dtype=dtype)
    return frame.astype(dtype).to_numpy()


@dataclass
class RiskModel:
    """A fitted booster plus its calibration: `predict_proba` gives calibrated probabilities."""

    booster: xgb.Booster
    calibration: Calibration
    features: list[str]
    weighting: str
    best_iteration: int
    validation_average_precision: dict[str, float] = field(default_factory=dict)
    _shap_tables: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def _dmatrix(self, frame: pd.DataFrame) -> xgb.DMatrix:
        import xgboost as xgb

        return xgb.DMatrix(frame[self.features].astype("float32"), feature_names=self.features)

    def feature_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's features in model order as XGBoost reads them: float32, NaN for unknown."""
        selected = frame if list(frame.columns) == self.features else frame[self.features]
        return numeric_matrix(selected, np.float32)

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        # inplace_predict walks the same trees over the same float32 values as a DMatrix would,
        # without building one: scoring a day costs little more than the trees themselves.
        return self.booster.inplace_predict(self.feature_matrix(frame), iteration_range=(0, self.best_iteration + 1))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.calibration.predict(self.predict_raw(frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions to the raw log-odds, one column per feature (the bias term
        dropped): positive values push an account towards `bad`. Read from per-leaf tables built
        on first use (`ml/train/treeshap.py`; XGBoost's `pred_contribs` to float32 rounding, at a
        fraction of its cost per row); models too deep for tables use `pred_contribs` itself."""
        tables = self.shap_tables()
        if tables is None:
            matrix = self._dmatrix(frame)
            values = self.booster.predict(matrix, pred_contribs=True, iteration_range=(0, self.best_iteration + 1))
            return pd.DataFrame(values[:, :-1], columns=self.features, index=frame.index)
        return pd.DataFrame(tables.contributions(self.feature_matrix(frame)), columns=self.features, index=frame.index)

    def shap_tables(self) -> TreeShapTables | None:
        """The TreeSHAP tables of this booster and iteration, built once (and again if either
        is replaced); None when the trees are too deep for tables."""
        cached = self._shap_tables
        if cached is None or cached[0] is not self.booster or cached[1] != self.best_iteration:
            cached = (self.booster, self.best_iteration, TreeShapTables.build(self.booster, self.best_iteration + 1))
            self._shap_tables = cached
        return cached[2]

    def gain_importance(self) -> pd.Series:
        """Total gain per feature (features never split on get 0), largest first."""
        gains = self.booster.get_score(importance_type="total_gain")
        return pd.Series({f: gains.get(f, 0.0) for f in self.features}).sort_values(ascending=False)

    def save(self, folder: Path) -> None:
        """The booster (XGBoost's own JSON format) and everything else as plain JSON: no pickle."""
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(folder / BOOSTER_FILE)
        meta = {
            "features": self.features,
            "weighting": self.weighting,
            "best_iteration": self.best_iteration,
            "validation_average_precision": self.validation_average_precision,
            "calibration": {"raw": self.calibration.raw, "probability": self.calibration.probability},
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(folder / BOOSTER_FILE)
        meta = json.loads((folder / META_FILE).read_text())
        return cls(
            booster=booster,
            calibration=Calibration(tuple(meta["calibration"]["raw"]), tuple(meta["calibration"]["probability"])),
            features=list(meta["features"]),
            weighting=meta["weighting"],
            best_iteration=int(meta["best_iteration"]),
            validation_average_precision=dict(meta["validation_average_precision"]),
        )


def _matrix(frame: pd.DataFrame, features: list[str], label: str) -> xgb.DMatrix:
    import xgboost as xgb

    return xgb.DMatrix(frame[features].astype("float32"), label=frame[label].astype("int8"), feature_names=features)


def _fit_booster(train: xgb.DMatrix, valid: xgb.DMatrix, config: TrainConfig, scale_pos_weight: float) -> xgb.Booster:
    import xgboost as xgb

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

    Calibration (centered isotonic) is fitted on the validation block, which the trees never
    train on.
    """
    from sklearn.metrics import average_precision_score

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
    return RiskModel(
        booster=booster,
        calibration=Calibration.fit(raw_valid, valid[label]),
        features=list(features),
        weighting=chosen,
        best_iteration=int(booster.best_iteration),
        validation_average_precision=scores,
    )
