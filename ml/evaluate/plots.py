"""Evaluation plots as PNG files (matplotlib's object API: no pyplot state, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

TOP_FEATURES = 20


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def pr_and_roc_curves(labels: np.ndarray, scores: dict[str, np.ndarray], path: Path) -> Path:
    """Precision-recall and ROC curves of every score on the same block."""
    figure = Figure(figsize=(11, 4.8))
    pr_axes, roc_axes = figure.subplots(1, 2)
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(labels, score)
        pr_axes.plot(recall, precision, label=name, drawstyle="steps-post")
        fpr, tpr, _ = roc_curve(labels, score)
        roc_axes.plot(fpr, tpr, label=name)
    pr_axes.axhline(labels.mean(), color="grey", linestyle=":", label=f"base rate {labels.mean():.2%}")
    pr_axes.set(xlabel="recall", ylabel="precision", title="Precision-recall (test block)", xlim=(0, 1), ylim=(0, 1))
    roc_axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_axes.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC (test block)")
    pr_axes.legend(loc="upper right")
    roc_axes.legend(loc="lower right")
    return _save(figure, path)


def calibration_plot(labels: np.ndarray, probabilities: dict[str, np.ndarray], path: Path) -> Path:
    """Observed bad rate against mean predicted probability, in quantile bins."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    top = 0.0
    for name, probability in probabilities.items():
        observed, predicted = calibration_curve(labels, probability, n_bins=15, strategy="quantile")
        axes.plot(predicted, observed, marker="o", label=name)
        top = max(top, observed.max(), predicted.max())
    axes.plot([0, top], [0, top], color="grey", linestyle=":", label="perfectly calibrated")
    axes.set(xlabel="mean predicted probability", ylabel="observed bad rate", title="Calibration (test block)")
    axes.set_xscale("symlog", linthresh=0.01)
    axes.set_yscale("symlog", linthresh=0.01)
    axes.legend(loc="upper left")
    return _save(figure, path)


def score_distributions(labels: np.ndarray, probability: np.ndarray, thresholds: dict[str, float], path: Path) -> Path:
    """Calibrated scores of good and bad snapshots, with the policy's thresholds."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    bins = np.linspace(0, 1, 51)
    for value, name in ((False, "good"), (True, "bad")):
        axes.hist(
            probability[labels == value],
            bins=bins,
            alpha=0.6,
            density=True,
            label=f"{name} (n={int((labels == value).sum()):,})",
        )
    for name, threshold in thresholds.items():
        axes.axvline(
            threshold, linestyle="--", color="black" if name == "block" else "grey", label=f"{name} >= {threshold:.3f}"
        )
    axes.set_yscale("log")
    axes.set(xlabel="calibrated probability of bad", ylabel="density (log)", title="Score distribution by class")
    axes.legend()
    return _save(figure, path)


def feature_importance(gain: pd.Series, path: Path, top: int = TOP_FEATURES) -> Path:
    """Total split gain of the most important features."""
    shown = gain.head(top)[::-1]
    figure = Figure(figsize=(7, 0.3 * len(shown) + 1.2))
    axes = figure.subplots()
    axes.barh(shown.index, shown.to_numpy())
    axes.set(xlabel="total gain", title=f"Feature importance (top {len(shown)})")
    return _save(figure, path)


def shap_summary(contributions: pd.DataFrame, values: pd.DataFrame, path: Path, top: int = TOP_FEATURES) -> Path:
    """SHAP beeswarm: one dot per account and feature, at its contribution to the log-odds,
    coloured by the feature's value (percentile among the sample; grey when missing)."""
    order = contributions.abs().mean().sort_values(ascending=False).head(top).index[::-1]
    figure = Figure(figsize=(8, 0.32 * len(order) + 1.5))
    axes = figure.subplots()
    rng = np.random.default_rng(0)
    for row, feature in enumerate(order):
        x = contributions[feature].to_numpy()
        colour = values[feature].rank(pct=True).to_numpy()
        y = row + rng.uniform(-0.3, 0.3, len(x))
        missing = np.isnan(colour)
        axes.scatter(x[missing], y[missing], s=4, color="lightgrey")
        axes.scatter(x[~missing], y[~missing], s=4, c=colour[~missing], cmap="coolwarm", vmin=0, vmax=1)
    axes.set_yticks(range(len(order)), labels=list(order))
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set(xlabel="SHAP value (contribution to log-odds of bad)", title="SHAP summary (test sample)")
    figure.colorbar(ScalarMappable(Normalize(0, 1), "coolwarm"), ax=axes, label="feature value (percentile)")
    return _save(figure, path)
