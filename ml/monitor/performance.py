"""Restated performance: the scores that were actually published, graded once their labels are
final (~67 days after the as-of day), per abuse type and per side of the market.

A day is graded only when
- its scores were published: the sync applied the day with exactly the scores stored now
  (`risk.enforcement_sync_runs.scores_run_id` is the run that wrote them), and
- every label of the day is final (a day with pending labels over-represents bad accounts: bad
  labels can be final early, good ones only at maturity).
Metrics are `ml.evaluate.metrics`'s, as the gate's evaluation computes them: average precision,
and recall and precision of the top K per day (K = the version's review capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ml.evaluate.metrics import QUEUE_GROUP, recall_by_group, top_k_per_day
from ml.evaluate.report import metric_key
from ml.score.schema import GROUP_COLUMN, SCORES_TABLE, SYNC_RUNS_TABLE, risk_schema
from ml.score.store import features_table, session_of
from ml.train.dataset import LABELS_MODEL, marts_table
from ml.warehouse import Warehouse, WarehouseSession

HEADLINE = ("average_precision", "recall_at_capacity", "precision_at_capacity")
SIDES = {"buyer": lambda f: f["is_seller"] != 1, "seller": lambda f: f["is_seller"] == 1}


class NotGradableError(RuntimeError):
    """The day cannot be graded (yet): its labels are pending, or its scores were not published."""


@dataclass(frozen=True)
class DayStatus:
    day: date
    published: bool
    scores_run_id: str | None  # the run whose scores the sync applied
    rows: int  # label rows of the day
    pending: int  # of which not final yet
    label_cutoff: date | None
    problem: str | None = None  # why the day cannot be graded

    @property
    def gradable(self) -> bool:
        return self.problem is None


def day_status(source: Warehouse | WarehouseSession, day: date) -> DayStatus:
    """Whether `day` can be graded: published with the stored scores, and every label final."""
    with session_of(source) as session:
        labels = session.fetch_arrow(
            "select count(*) as n, coalesce(sum(case when is_label_final then 0 else 1 end), 0) as pending,"
            f" max(label_cutoff_date) as cutoff, max(matures_on) as matures from {marts_table(LABELS_MODEL)}"
            " where as_of_date = ?",
            [day],
        ).to_pylist()[0]
        applied = session.fetch_arrow(
            f"select scores_run_id from {risk_schema()}.{SYNC_RUNS_TABLE} where as_of_date = ?", [day]
        ).to_pylist()
        writers = session.fetch_arrow(
            f"select distinct run_id from {risk_schema()}.{SCORES_TABLE} where as_of_date = ?", [day]
        ).to_pylist()
    stored = sorted(str(r["run_id"]) for r in writers)
    applied_runs = {str(r["scores_run_id"]) for r in applied}  # the watermark day may be applied twice
    published = len(stored) == 1 and stored[0] in applied_runs
    published_by = stored[0] if published else (sorted(applied_runs)[-1] if applied_runs else None)
    problem = None
    if not stored:
        problem = f"no scores stored for {day}"
    elif not applied:
        problem = f"the scores of {day} were never published (refused, or scored after the sync's watermark)"
    elif not published:
        problem = f"the scores of {day} were re-scored (run {stored[0]}) after run {published_by}'s were published"
    elif not labels["n"]:
        problem = f"no labels for {day}: build the labels mart"
    elif labels["pending"]:
        problem = (
            f"{labels['pending']} of {labels['n']} labels of {day} are not final yet"
            f" (label cutoff {labels['cutoff']}; all final once the data reaches {labels['matures']})"
        )
    return DayStatus(day, published, published_by, int(labels["n"]), int(labels["pending"]), labels["cutoff"], problem)


def graded_rows(source: Warehouse | WarehouseSession, first: date, last: date) -> pd.DataFrame:
    """Published scores of the days first..last joined with their final labels and the side of
    the market (`is_seller` from the feature mart), one row per scored account and day; a
    scored row without a label row has `is_bad` null (counted, never dropped silently)."""
    sql = f"""
        select
            s.account_id, s.as_of_date, s.score, s.band, s.model_version, s.run_id,
            s.{GROUP_COLUMN[0]} as {QUEUE_GROUP},
            l.is_bad, l.is_label_final, f.is_seller
        from {risk_schema()}.{SCORES_TABLE} as s
        inner join (select distinct as_of_date, scores_run_id from {risk_schema()}.{SYNC_RUNS_TABLE}) as r
            on r.as_of_date = s.as_of_date and r.scores_run_id = s.run_id
        left join {marts_table(LABELS_MODEL)} as l
            on l.account_id = s.account_id and l.as_of_date = s.as_of_date
        left join {features_table()} as f
            on f.account_id = s.account_id and f.as_of_date = s.as_of_date
        where s.as_of_date between ? and ?
    """
    with session_of(source) as session:
        frame = session.fetch_arrow(sql, [first, last]).to_pandas()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    return frame


@dataclass(frozen=True)
class Restated:
    """Matured performance of the published scores of one or more days of one model version."""

    first_day: date
    last_day: date
    model_version: str
    rows: int
    bad_rows: int
    days: int
    review_capacity: int
    metrics: dict[str, float]
    by_side: dict[str, dict[str, float]] = field(default_factory=dict)
    recall_by_abuse_type: dict[str, float] = field(default_factory=dict)

    def flat_metrics(self, prefix: str = "restated") -> dict[str, float]:
        """`restated.<metric>`, `restated.<side>.<metric>`, `restated.recall.<abuse type>`: NaN-free."""
        flat = {f"{prefix}.{k}": v for k, v in self.metrics.items()}
        for side, metrics in self.by_side.items():
            flat.update({f"{prefix}.{side}.{k}": v for k, v in metrics.items()})
        flat.update({f"{prefix}.recall.{metric_key(k)}": v for k, v in self.recall_by_abuse_type.items()})
        return {k: float(v) for k, v in flat.items() if v is not None and math.isfinite(v)}


def _headline(y: np.ndarray, score: np.ndarray, queued: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score  # on use: Dagster's definitions load without it

    bad = y == 1
    return {
        "average_precision": float(average_precision_score(y, score)) if bad.any() and not bad.all() else math.nan,
        "recall_at_capacity": float(queued[bad].mean()) if bad.any() else math.nan,
        "precision_at_capacity": float(y[queued].mean()) if queued.any() else math.nan,
        "bad_rate": float(bad.mean()) if len(y) else math.nan,
    }


def grade(frame: pd.DataFrame, review_capacity: int, ground_truth: pd.DataFrame | None = None) -> Restated:
    """Grade labelled published scores (`graded_rows`, final labels only) of one model version.

    The queue is the top `review_capacity` review items of each day over the whole population
    (a linked group's members are one item: `top_k_per_day`), as the evaluation's capacity
    metrics; a side's recall is the share of its bad accounts that queue caught, its precision
    the bad share of its accounts in the queue.
    """
    versions = sorted(set(frame["model_version"]))
    if len(versions) != 1:
        raise ValueError(f"grade one model version at a time, got {versions}")
    if frame["is_bad"].isna().any():
        raise ValueError(f"{int(frame['is_bad'].isna().sum())} rows without a final label: grade final days only")
    frame = frame.reset_index(drop=True)
    if ground_truth is not None:
        frame = frame.merge(ground_truth, on="account_id", how="left", validate="many_to_one")
    y = frame["is_bad"].astype(int).to_numpy()
    score = frame["score"].to_numpy(float)
    queued = top_k_per_day(frame, "score", review_capacity).to_numpy(bool)
    by_side = {}
    for side, mask_of in SIDES.items():
        mask = mask_of(frame).fillna(False).to_numpy(bool)
        if mask.any():
            by_side[side] = _headline(y[mask], score[mask], queued[mask])
    by_type = {}
    if "abuse_type" in frame:
        by_type = recall_by_group(frame.assign(is_bad=y), pd.Series(queued, index=frame.index), "abuse_type")
    days = pd.to_datetime(frame["as_of_date"])
    return Restated(
        first_day=days.min().date(),
        last_day=days.max().date(),
        model_version=str(versions[0]),
        rows=len(frame),
        bad_rows=int(y.sum()),
        days=int(days.nunique()),
        review_capacity=review_capacity,
        metrics=_headline(y, score, queued),
        by_side=by_side,
        recall_by_abuse_type=by_type,
    )


@dataclass(frozen=True)
class Comparison:
    """Matured performance against the gate's evaluation of the same version."""

    passed: bool
    lines: tuple[str, ...]


def compare_with_evaluation(restated: Restated, evaluation: dict[str, float], max_relative_drop: float) -> Comparison:
    """Each headline metric the evaluation has must not fall more than `max_relative_drop`
    (relative) below it: below that, the model has decayed (or the world moved) since the gate."""
    lines, passed = [], True
    for metric in ("average_precision", "recall_at_capacity"):
        expected, found = evaluation.get(metric), restated.metrics.get(metric)
        if expected is None or found is None or math.isnan(found) or expected <= 0:
            lines.append(f"{metric}: not comparable (restated {found}, evaluation {expected})")
            continue
        floor = expected * (1 - max_relative_drop)
        ok = found >= floor
        passed &= ok
        lines.append(
            f"{metric}: {found:.4f} restated vs {expected:.4f} at the gate ({found / expected - 1:+.1%});"
            f" {'ok' if ok else 'below'} the floor {floor:.4f} (-{max_relative_drop:.0%})"
        )
    return Comparison(passed, tuple(lines))


def gradable_days(source: Warehouse | WarehouseSession) -> list[tuple[date, str]]:
    """(day, scores run id) of every published day whose labels are all final: what the
    restated-performance sensor asks to grade (those not graded yet)."""
    labels = marts_table(LABELS_MODEL)
    sql = f"""
        select r.as_of_date, max(r.scores_run_id) as scores_run_id
        from {risk_schema()}.{SYNC_RUNS_TABLE} as r
        where exists (select 1 from {labels} as l where l.as_of_date = r.as_of_date)
          and not exists (select 1 from {labels} as l where l.as_of_date = r.as_of_date and not l.is_label_final)
        group by r.as_of_date
        order by r.as_of_date
    """
    with session_of(source) as session:
        rows = session.fetch_arrow(sql).to_pylist()
    return [(row["as_of_date"], str(row["scores_run_id"])) for row in rows]
