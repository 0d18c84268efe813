"""The publication gate: which as-of days the enforcement sync may apply.

The scoring run checks each day it wrote (its raw data: `ml.score.completeness`; its scores:
`ml.score.checks`) and records every result in `risk.publication_checks`, keyed by the day and
its own run id. The sync applies a day only when the scores it would apply carry a complete set
of recorded, passing results under the run id that wrote them, and only in that run
(`ml.score.publish`). Otherwise an operator re-runs after fixing the data, or publishes anyway
with a recorded override (`risk.publication_overrides`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa

from ml.contract import TABLES
from ml.score import store
from ml.score.checks import (
    ERROR,
    FLAGGED_BANDS,
    CheckResult,
    band_rate_stable,
    decisions_explained,
    no_missing_scores,
    population_matches,
    scores_within_unit_interval,
)
from ml.score.completeness import data_checks_for_days
from ml.score.schema import CHECKS_TABLE, OVERRIDES_TABLE, SCORES_TABLE, risk_schema
from ml.score.thresholds import PublicationThresholds
from ml.warehouse import Warehouse, WarehouseSession

SCORE_CHECKS = (
    "scores_of_run",
    "no_missing_scores",
    "scores_within_unit_interval",
    "decisions_explained",
    "population_matches_features",
    *(f"band_rate.{band}" for band in FLAGGED_BANDS),
)
DATA_CHECKS = (
    *(f"{kind}.{table}" for table in TABLES for kind in ("volume", "freshness", "quarantine")),
    "rejected_files",
)
# Measured by the scoring run on the feature rows it scored (`ml.monitor.drift`): a model
# feature that stopped arriving refuses the day. The drift results (`drift.*`) are recorded
# beside them as warnings and are not required.
MONITOR_CHECKS = ("features_arriving",)
REQUIRED_CHECKS = (*DATA_CHECKS, *SCORE_CHECKS, *MONITOR_CHECKS)


def scores_of_run(scores: pd.DataFrame, run_id: str) -> CheckResult:
    """The day's scores are the ones this run wrote (and nothing of another run is mixed in)."""
    others = sorted(set(scores["run_id"]) - {run_id})
    detail = f"{len(scores)} rows written by run {run_id}" if not others else f"rows of other runs: {others[:3]}"
    return CheckResult("scores_of_run", not others and len(scores) > 0, detail, ERROR, len(scores))


def _previous_band_rates(session: WarehouseSession, day: date, days: int) -> dict[str, list[float]]:
    rows = session.fetch_arrow(
        "select as_of_date, count(*) as n,"
        + ", ".join(f" sum(case when band = '{b}' then 1 else 0 end) as {b}" for b in FLAGGED_BANDS)
        + f" from {risk_schema()}.{SCORES_TABLE} where as_of_date >= ? and as_of_date < ? group by as_of_date",
        [day - timedelta(days=days), day],
    ).to_pylist()
    return {band: [float(r[band]) / float(r["n"]) for r in rows if r["n"]] for band in FLAGGED_BANDS}


def score_checks(warehouse: Warehouse, day: date, run_id: str, thresholds: PublicationThresholds) -> list[CheckResult]:
    """Checks on the scores of D as written (read back from the warehouse)."""
    with warehouse.session() as session:
        scores = store.read_scores(session, day)
        baseline = _previous_band_rates(session, day, thresholds.band_baseline_days)
        features = store.count_features(session, day)
    counts = scores["band"].value_counts()
    return [
        scores_of_run(scores, run_id),
        no_missing_scores(scores),
        scores_within_unit_interval(scores),
        decisions_explained(scores),
        population_matches(scores, features),
        *(
            band_rate_stable(band, int(counts.get(band, 0)), len(scores), baseline[band], thresholds)
            for band in FLAGGED_BANDS
        ),
    ]


def check_days(
    warehouse: Warehouse,
    days: list[date],
    run_id: str,
    thresholds: PublicationThresholds,
    monitored: Mapping[date, Sequence[CheckResult]],
) -> dict[date, list[CheckResult]]:
    """Every check the gate requires, for each of `days` (scored by `run_id`): the raw data of
    the whole range is read once, the scores day by day; `monitored` holds what the scoring run
    measured on the feature rows it scored (`ml.monitor.drift.drift_checks`), per day."""
    data = data_checks_for_days(warehouse, min(days), max(days), thresholds)
    return {
        day: [*data[day], *score_checks(warehouse, day, run_id, thresholds), *monitored.get(day, ())] for day in days
    }


def check_day(
    warehouse: Warehouse,
    day: date,
    run_id: str,
    thresholds: PublicationThresholds,
    monitored: Sequence[CheckResult],
) -> list[CheckResult]:
    """Every check the gate requires for D, for the scores `run_id` wrote."""
    return check_days(warehouse, [day], run_id, thresholds, {day: monitored})[day]


def record_checks(
    warehouse: Warehouse, day: date, run_id: str, results: list[CheckResult], checked_at: datetime
) -> None:
    """Store D's results for `run_id` (replacing an earlier record of the same run and day)."""
    with warehouse.session() as session, session.transaction():
        session.execute(
            f"delete from {risk_schema()}.{CHECKS_TABLE} where as_of_date = ? and run_id = ?", [day, run_id]
        )
        session.append_arrow(risk_schema(), CHECKS_TABLE, checks_table(day, run_id, results, checked_at))


def checks_table(day: date, run_id: str, results: Sequence[CheckResult], checked_at: datetime) -> pa.Table:
    """Rows of `risk.publication_checks` for `results`."""
    frame = pd.DataFrame(
        {
            "as_of_date": day,
            "run_id": run_id,
            "check_name": [r.check for r in results],
            "passed": [r.passed for r in results],
            "severity": [r.severity for r in results],
            "statistic": [None if r.statistic is None else float(r.statistic) for r in results],
            "detail": [r.detail[:2000] for r in results],
            "checked_at": checked_at,
        }
    )
    frame["statistic"] = frame["statistic"].astype("float64")
    return store.to_arrow(frame, CHECKS_TABLE)


@dataclass(frozen=True)
class Verdict:
    """May the scores `run_id` wrote for `day` be published? `problems` says why not."""

    day: date
    run_id: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def blocking_checks(self) -> tuple[str, ...]:
        return tuple(p.split(":")[0] for p in self.problems)


def verdict(source: Warehouse | WarehouseSession, day: date, run_id: str) -> Verdict:
    """The recorded results for (D, run): every required check present, none failed as an error."""
    with store.session_of(source) as session:
        rows = session.fetch_arrow(
            f"select check_name, passed, severity, detail from {risk_schema()}.{CHECKS_TABLE}"
            " where as_of_date = ? and run_id = ?",
            [day, run_id],
        ).to_pylist()
    recorded = {row["check_name"]: row for row in rows}
    problems = [f"{name}: no recorded result" for name in REQUIRED_CHECKS if name not in recorded]
    problems += [
        f"{row['check_name']}: {row['detail']}"
        for row in rows
        if not row["passed"] and row["severity"] == ERROR and row["check_name"] in REQUIRED_CHECKS
    ]
    return Verdict(day, run_id, tuple(problems))


def override_row(
    day: date,
    scores_run_id: str,
    run_id: str,
    overridden_by: str,
    reason: str,
    problems: tuple[str, ...],
    created_at: datetime,
) -> tuple[str, pa.Table]:
    """Who published D despite the gate, why, and over which problems: a row of
    `risk.publication_overrides`, written in the same transaction as the publication."""
    frame = pd.DataFrame(
        [
            {
                "as_of_date": day,
                "scores_run_id": scores_run_id,
                "run_id": run_id,
                "overridden_by": overridden_by,
                "reason": reason,
                "overridden_checks": " | ".join(problems)[:5000],
                "created_at": created_at,
            }
        ]
    )
    return OVERRIDES_TABLE, store.to_arrow(frame, OVERRIDES_TABLE)
