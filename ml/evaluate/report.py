"""One evaluation of every score on the untouched test block: the numbers a promotion decision
and a risk team's review read (plain Python, no Dagster, no MLflow)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml.evaluate.metrics import (
    queue_priority,
    recall_by_group,
    score_metrics,
    segment_false_positive_rates,
    top_k_per_day,
)
from ml.gate import Evaluation
from ml.policy import SIDE_COLUMN, DecisionPolicy, expected_outcome

NEW_ACCOUNT_DAYS = 30
# A segment's false-positive rate is only guarded when it rests on enough good snapshots;
# below that one flagged account moves it by more than any sensible bound.
MIN_GOOD_ROWS_PER_SEGMENT = 2_000
# Likewise a labelled abuse type's recall is guarded only with enough bad snapshots of the type.
MIN_BAD_ROWS_PER_TYPE = 100
LABELLED_TYPE = "bad_abuse_type"  # from the labels mart: what production knows of a bad account
GROUND_TRUTH_FILE = "accounts.parquet"


@dataclass(frozen=True)
class ScoredModel:
    """A calibrated model on the test block: its raw score ranks (calibration is flat beyond
    its end points, so it ties the most extreme accounts), its probability is judged for
    calibration and banded by its policy."""

    raw: np.ndarray
    probability: np.ndarray
    policy: DecisionPolicy


@dataclass
class BlockReport:
    metrics: dict[str, dict[str, float]]  # score name -> metric -> value
    segment_fpr: dict[str, dict[str, float]]  # model name -> segment -> share of good accounts acted on
    recall_by_abuse_type: dict[str, dict[str, float]] = field(default_factory=dict)  # score -> type -> recall
    # The same over the bad rows whose abuse had begun by their as-of day (a label looks ahead
    # `label_horizon_days`, so a bad row can predate any trace of the abuse): score -> type -> recall.
    recall_after_onset: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per abuse type, the share of its bad rows dated on or after the onset: the ceiling of its recall.
    onset_share: dict[str, float] = field(default_factory=dict)
    # Recall at capacity over every row of an abuser on or after its onset, labelled bad or not
    # (ground truth): what the labels cannot see, e.g. the rings enforcement missed, which stay
    # labelled good: score -> type -> recall.
    truth_recall_after_onset: dict[str, dict[str, float]] = field(default_factory=dict)
    # What the queue at capacity holds a day by ground truth: account-days of each abuse type on
    # or after its onset, and of honest accounts (`honest`). Capacity spent on one type is taken
    # from another: this says whether a change buys more abuse per reviewer day, which recall by
    # label cannot (the labels call most rings good): score -> type or `honest` -> rows a day.
    truth_queue_per_day: dict[str, dict[str, float]] = field(default_factory=dict)
    # Recall at capacity per labelled abuse type (`bad_abuse_type`) with enough bad rows: score -> type -> recall.
    recall_by_labelled_type: dict[str, dict[str, float]] = field(default_factory=dict)
    # What each model's policy does to each side of the market: model -> side -> measure -> value.
    sides: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # The same with good and bad by ground truth (an abuser's every row is bad; a trap or a
    # wrongly actioned account is good): the labels call the abusers enforcement missed good,
    # which inflates the buyers' good share and flatters the sellers' ratio.
    truth_sides: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    outcome_per_day: dict[str, dict[str, float]] = field(default_factory=dict)  # model name -> policy outcome
    rows: int = 0
    bad_rows: int = 0
    days: int = 0

    def gate_evaluation(self, name: str) -> Evaluation:
        metrics = self.metrics[name]
        outcome = self.outcome_per_day.get(name, {})
        return Evaluation(
            average_precision=metrics["average_precision"],
            recall_at_capacity=metrics["recall_at_capacity"],
            segment_fpr=self.segment_fpr.get(name, {}),
            actions_per_day=outcome.get("reviewed_per_day", 0.0) + outcome.get("blocked_per_day", 0.0),
            recall_by_type=self.recall_by_labelled_type.get(name, {}),
        )

    def flat_metrics(self) -> dict[str, float]:
        """`<score>.<metric>` (and per segment / abuse type) for MLflow, NaN-free."""
        flat: dict[str, float] = {}
        for name, metrics in self.metrics.items():
            flat.update({f"test.{name}.{k}": v for k, v in metrics.items()})
        for name, rates in self.segment_fpr.items():
            flat.update({f"test.{name}.fpr.{metric_key(k)}": v for k, v in rates.items()})
        for name, recalls in self.recall_by_abuse_type.items():
            flat.update({f"test.{name}.recall.{metric_key(k)}": v for k, v in recalls.items()})
        for name, recalls in self.recall_after_onset.items():
            flat.update({f"test.{name}.recall_after_onset.{metric_key(k)}": v for k, v in recalls.items()})
        for name, recalls in self.truth_recall_after_onset.items():
            flat.update({f"test.{name}.truth_recall_after_onset.{metric_key(k)}": v for k, v in recalls.items()})
        for name, rows in self.truth_queue_per_day.items():
            flat.update({f"test.{name}.truth_queue_per_day.{metric_key(k)}": v for k, v in rows.items()})
        flat.update({f"test.onset_share.{metric_key(k)}": v for k, v in self.onset_share.items()})
        for name, recalls in self.recall_by_labelled_type.items():
            flat.update({f"test.{name}.labelled_recall.{metric_key(k)}": v for k, v in recalls.items()})
        for name, sides in self.sides.items():
            for side, measures in sides.items():
                flat.update({f"test.{name}.side.{side}.{k}": v for k, v in measures.items()})
        for name, sides in self.truth_sides.items():
            for side, measures in sides.items():
                flat.update({f"test.{name}.truth_side.{side}.{k}": v for k, v in measures.items()})
        for name, outcome in self.outcome_per_day.items():
            flat.update({f"test.{name}.per_day.{k}": v for k, v in outcome.items()})
        return {k: float(v) for k, v in flat.items() if v is not None and np.isfinite(v)}


def metric_key(name: str) -> str:
    """MLflow metric names allow only alphanumerics and `_-. :/`."""
    return re.sub(r"[^\w\-. :/]", "_", name)


def load_ground_truth(folder: Path) -> pd.DataFrame | None:
    """The simulator's per-account truth (abuse type, its onset, false-positive trap), if present."""
    path = folder / GROUND_TRUTH_FILE
    if not path.exists():
        return None
    return pd.read_parquet(path, columns=["account_id", "abuse_type", "abuse_start_at", "trap_type"])


def after_onset(frame: pd.DataFrame) -> pd.Series:
    """Rows whose as-of day is on or after the day the account's abuse began (ground truth)."""
    if "abuse_start_at" not in frame:
        return pd.Series(False, index=frame.index)
    onset = pd.to_datetime(frame["abuse_start_at"], utc=True).dt.tz_localize(None).dt.normalize()
    return (pd.to_datetime(frame["as_of_date"]) >= onset).fillna(False)


def market_sides(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The two sides of the market: sellers, and accounts that only buy (or bid)."""
    return {"buyer_only": frame["is_seller"] != 1, "seller": frame["is_seller"] == 1}


def segments(frame: pd.DataFrame, min_good_rows: int = MIN_GOOD_ROWS_PER_SEGMENT) -> dict[str, pd.Series]:
    """Named boolean masks over the block: new vs tenured, buyer vs seller, each country, and
    (when ground truth was joined) each false-positive trap of the simulator."""
    masks = {
        f"new_account_under_{NEW_ACCOUNT_DAYS}d": frame["account_age_days"] < NEW_ACCOUNT_DAYS,
        f"tenured_account_{NEW_ACCOUNT_DAYS}d_plus": frame["account_age_days"] >= NEW_ACCOUNT_DAYS,
        **market_sides(frame),
    }
    for country in sorted(frame["country_code"].dropna().unique()):
        masks[f"country_{country}"] = frame["country_code"] == country
    if "trap_type" in frame:
        for trap in sorted(frame["trap_type"].dropna().unique()):
            masks[f"trap_{trap}"] = frame["trap_type"] == trap
    good = ~frame["is_bad"].astype(bool)
    return {name: mask.fillna(False) for name, mask in masks.items() if (mask & good).sum() >= min_good_rows}


def evaluate_block(
    test: pd.DataFrame,
    scores: dict[str, np.ndarray],
    models: dict[str, ScoredModel],
    review_capacity: int,
    ground_truth: pd.DataFrame | None = None,
    min_good_rows: int = MIN_GOOD_ROWS_PER_SEGMENT,
    review_anyway: np.ndarray | None = None,
) -> BlockReport:
    """Metrics for every score (baselines and models); for models with a decision policy also
    what the policy does per day and the false-positive rate it causes per segment.

    `scores` holds every score to compare (rankings); `models` the calibrated ones among them.
    `review_anyway` marks the rows the daily rules review whatever the score (`ml.score.rules`):
    a model's queue takes them first and its policy acts on them; baselines rank alone.
    """
    frame = test.copy()
    if ground_truth is not None:
        frame = frame.merge(ground_truth, on="account_id", how="left", validate="many_to_one")
    everything = {**scores, **{name: m.raw for name, m in models.items()}}
    for name, values in everything.items():
        frame[f"score__{name}"] = values
    for name, model in models.items():
        frame[f"probability__{name}"] = model.probability
    queues = {name: f"score__{name}" for name in everything}
    for name, model in models.items():
        queues[name] = f"queue__{name}"
        frame[queues[name]] = queue_priority(model.raw, review_anyway)
    report = BlockReport(
        metrics={},
        segment_fpr={},
        rows=len(frame),
        bad_rows=int(frame["is_bad"].sum()),
        days=int(frame["as_of_date"].nunique()),
    )
    masks = segments(frame, min_good_rows)
    for name in everything:
        column = f"score__{name}"
        probability = f"probability__{name}" if name in models else None
        report.metrics[name] = score_metrics(
            frame, column, review_capacity, probability=probability, queue=queues[name]
        )
        queued = top_k_per_day(frame, queues[name], review_capacity)
        if "abuse_type" in frame:
            report.recall_by_abuse_type[name] = recall_by_group(frame, queued, "abuse_type")
            begun = after_onset(frame)
            report.recall_after_onset[name] = recall_by_group(frame[begun], queued[begun], "abuse_type")
            abuser_rows = begun & frame["abuse_type"].notna()
            report.truth_recall_after_onset[name] = {
                str(k): float(v)
                for k, v in queued[abuser_rows].groupby(frame.loc[abuser_rows, "abuse_type"]).mean().items()
            }
            report.truth_queue_per_day[name] = truth_queue_per_day(frame, queued, abuser_rows, report.days)
        if LABELLED_TYPE in frame:
            report.recall_by_labelled_type[name] = labelled_type_recall(frame, queued)
    if "abuse_type" in frame:
        bad = frame["is_bad"].astype(bool) & frame["abuse_type"].notna()
        begun = after_onset(frame)[bad].groupby(frame.loc[bad, "abuse_type"]).mean()
        report.onset_share = {str(k): float(v) for k, v in begun.items()}
    good = ~frame["is_bad"].astype(bool)
    for name, model in models.items():
        column = f"probability__{name}"
        review_at, block_at = model.policy.thresholds(frame.get(SIDE_COLUMN), len(frame))
        band = model.policy.band(model.probability, frame.get(SIDE_COLUMN), review_anyway)
        acted = pd.Series(band != "allow", index=frame.index)
        report.metrics[name]["fpr_at_block_threshold"] = float((model.probability >= block_at)[good.to_numpy()].mean())
        report.segment_fpr[name] = segment_false_positive_rates(frame, acted, masks)
        report.sides[name] = side_outcomes(frame, acted)
        if "abuse_type" in frame:
            report.truth_sides[name] = side_outcomes(frame, acted, bad=frame["abuse_type"].notna())
        report.outcome_per_day[name] = expected_outcome(frame, column, review_at, block_at, review_anyway=review_anyway)
    return report


def truth_queue_per_day(frame: pd.DataFrame, queued: pd.Series, abuser_rows: pd.Series, days: int) -> dict[str, float]:
    """Queued account-days a day by ground truth: per abuse type after its onset, and `honest`
    (accounts that never abuse; traps included). An abuser's rows before its onset are neither."""
    in_queue = queued & abuser_rows
    counts = frame.loc[in_queue, "abuse_type"].value_counts()
    types = frame.loc[abuser_rows, "abuse_type"].unique()
    out = {str(kind): float(counts.get(kind, 0)) / days for kind in sorted(types)}
    out["honest"] = float((queued & frame["abuse_type"].isna()).sum()) / days
    return out


def labelled_type_recall(frame: pd.DataFrame, queued: pd.Series) -> dict[str, float]:
    """Recall at capacity per labelled abuse type, for the types with `MIN_BAD_ROWS_PER_TYPE`
    bad rows or more (fewer: one account moves it by more than any sensible bound)."""
    bad = frame["is_bad"].astype(bool) & frame[LABELLED_TYPE].notna()
    counts = frame.loc[bad, LABELLED_TYPE].value_counts()
    recalls = recall_by_group(frame, queued, LABELLED_TYPE)
    return {kind: recall for kind, recall in recalls.items() if counts.get(kind, 0) >= MIN_BAD_ROWS_PER_TYPE}


def side_outcomes(frame: pd.DataFrame, acted: pd.Series, bad: pd.Series | None = None) -> dict[str, dict[str, float]]:
    """Per side of the market (sellers, buyer-only accounts): the share of its good and of its
    bad account-days (by label, or by `bad`) the policy acts on, and the ratio of its good share
    to the buyers' (how much more friction an honest account of the side carries)."""
    bad = frame["is_bad"].astype(bool) if bad is None else bad.astype(bool)
    out: dict[str, dict[str, float]] = {}
    for side, mask in market_sides(frame).items():
        good_rows, bad_rows = mask & ~bad, mask & bad
        out[side] = {
            "good_rows": float(good_rows.sum()),
            "bad_rows": float(bad_rows.sum()),
            "good_acted_share": float(acted[good_rows].mean()) if good_rows.any() else float("nan"),
            "bad_acted_share": float(acted[bad_rows].mean()) if bad_rows.any() else float("nan"),
        }
    buyers = out["buyer_only"]["good_acted_share"]
    for measures in out.values():
        measures["good_acted_vs_buyers"] = measures["good_acted_share"] / buyers if buyers > 0 else float("nan")
    return out
