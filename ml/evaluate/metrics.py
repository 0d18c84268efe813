"""Metrics a risk team reads: ranking quality, what the review queue catches at its daily
capacity, the cost in good accounts hit, and whether scores are honest probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by size."""
    y_true, prob = np.asarray(y_true, float), np.asarray(prob, float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(y_true[mask].mean() - prob[mask].mean())
    return float(error)


QUEUE_GROUP = "linked_group_id"  # the feature mart's linked group: its flagged members are one item


def queue_items(frame: pd.DataFrame, group: str | None = QUEUE_GROUP) -> pd.Series:
    """The review item of each row: its linked group when it has one (`group` column, null for an
    account on its own), else the account itself (without account ids, the row)."""
    account = (
        frame["account_id"].astype(str) if "account_id" in frame else pd.Series(frame.index, frame.index).astype(str)
    )
    if group is None or group not in frame:
        return account
    return ("group " + frame[group].astype("string")).fillna(account).astype(str)


def new_items(frame: pd.DataFrame, day: str = "as_of_date", group: str | None = QUEUE_GROUP) -> pd.Series:
    """True on the first row of each review item of each day, in the frame's order."""
    return ~pd.DataFrame({"day": frame[day], "item": queue_items(frame, group)}).duplicated()


def top_k_per_day(
    frame: pd.DataFrame, score: str, k: int, day: str = "as_of_date", group: str | None = QUEUE_GROUP
) -> pd.Series:
    """True for the rows of the k highest-scored review items of each day (ties broken by
    account id): the queue a team that works k items a day would review. An item is an account,
    or the members of one linked group (`queue_items`) ranked at or above the point where the
    (k+1)-th item would enter; without a group column every account is its own item."""
    ranked = frame.sort_values([day, score, "account_id"], ascending=[True, False, True])
    item_number = new_items(ranked, day, group).astype(int).groupby(ranked[day]).cumsum()
    return (item_number <= k).reindex(frame.index)


def queue_priority(score: np.ndarray, review_anyway: np.ndarray | None) -> np.ndarray:
    """The review queue's order: the rows a rule puts in review (`ml.score.rules`) first, then
    the score. A rule's review is not the model's to rank: it takes capacity before any score."""
    score = np.asarray(score, float)
    return score if review_anyway is None else np.where(review_anyway, np.inf, score)


def score_metrics(
    frame: pd.DataFrame,
    score: str,
    review_capacity: int,
    label: str = "is_bad",
    probability: str | None = None,
    queue: str | None = None,
) -> dict[str, float]:
    """Ranking, capacity-bound recall/precision, false-positive rate among good accounts in the
    queue, and calibration for one score column of a labelled block.

    `probability` (default: the score itself) is what Brier and calibration error judge; a
    calibrated model ranks by its raw score, which also orders the accounts its calibration
    ties (beyond the calibration's end points). `queue` (default: the score) orders the review
    queue: a model's raw score with the rows a rule reviews anyway first (`queue_priority`).
    """
    # On use: Dagster's definitions load without scikit-learn.
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y, p = frame[label].astype(int).to_numpy(), frame[probability or score].to_numpy(float)
    ranking = frame[score].to_numpy(float)
    queued = top_k_per_day(frame, queue or score, review_capacity).to_numpy()
    bad, good = y == 1, y == 0
    return {
        "roc_auc": float(roc_auc_score(y, ranking)),
        "average_precision": float(average_precision_score(y, ranking)),
        "recall_at_capacity": float(queued[bad].mean()) if bad.any() else float("nan"),
        "precision_at_capacity": float(y[queued].mean()) if queued.any() else float("nan"),
        "fpr_at_capacity": float(queued[good].mean()) if good.any() else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "calibration_error": expected_calibration_error(y, np.clip(p, 0, 1)),
    }


def segment_false_positive_rates(
    frame: pd.DataFrame, flagged: pd.Series, segments: dict[str, pd.Series], label: str = "is_bad"
) -> dict[str, float]:
    """Share of good accounts flagged, per named segment (e.g. new vs tenured, country)."""
    good = ~frame[label].astype(bool)
    rates = {}
    for name, mask in segments.items():
        members = good & mask
        rates[name] = float(flagged[members].mean()) if members.any() else float("nan")
    return rates


def recall_by_group(frame: pd.DataFrame, flagged: pd.Series, group: str, label: str = "is_bad") -> dict[str, float]:
    """Share of bad rows flagged, per value of `group` (e.g. the simulator's abuse type)."""
    bad = frame[label].astype(bool) & frame[group].notna()
    return {str(k): float(v) for k, v in flagged[bad].groupby(frame.loc[bad, group]).mean().items()}
