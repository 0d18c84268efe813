"""The sync path: apply as-of days to the enforcement sync table, only through the gate.

Whatever launches it (the `score` or `daily` job, the sync asset alone, a script), a day is
applied only when:
- the day is not before the sync's watermark (the last day applied): history is never
  re-published; such a day is skipped, writing nothing;
- its current scores were written by this run (or its re-execution family), and that run
  recorded a complete set of passing checks for them (`ml.score.publication`);
- this run owns the day's lease (`ml.score.leases`), and the scores did not change since they
  were checked: both re-checked inside the apply's transaction.
An override (who and why) publishes a refused day anyway and is recorded with what it overrode;
it never skips the lease, the watermark or the integrity of the apply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ml.score import leases, publication, store
from ml.score.lifts import read_lifts
from ml.score.schema import SCORES_TABLE, SYNC_RUNS_TABLE, risk_schema
from ml.score.sync import diff_sync
from ml.warehouse import Warehouse

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # recompute a diff made stale by another run's apply at most this often


class PublicationRefusedError(RuntimeError):
    def __init__(self, day: date, problems: Iterable[str]) -> None:
        self.day, self.problems = day, tuple(problems)
        self.applied_before: list[DayOutcome] = []  # days of the same call applied before this one
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{day} not published: nothing applied to the enforcement sync.\n{listed}\n"
            "Fix the data and re-run scoring and sync for the day, or publish anyway with an override"
            " (who and why are recorded)."
        )


@dataclass(frozen=True)
class Override:
    reason: str
    by: str

    def __post_init__(self) -> None:
        if not self.reason.strip() or not self.by.strip():
            raise ValueError("an override needs a reason and who gives it")


@dataclass(frozen=True)
class DayOutcome:
    day: date
    status: str  # applied | skipped
    changed: int = 0
    tombstoned: int = 0
    scores_run_id: str | None = None
    overridden: tuple[str, ...] = ()  # the problems an override published over


def _scores_unchanged(day: date, scores_run_id: str, rows: int) -> store.Guard:
    return store.Guard(
        f"select count(*) as n from {risk_schema()}.{SCORES_TABLE} where as_of_date = ? and run_id = ?"
        f" and (select count(*) from {risk_schema()}.{SCORES_TABLE} where as_of_date = ?) = ?",
        [day, scores_run_id, day, rows],
        rows,
        f"the scores of {day} changed after they were checked: nothing written",
    )


def _watermark_not_passed(day: date) -> store.Guard:
    return store.Guard(
        f"select count(*) as n from {risk_schema()}.{SYNC_RUNS_TABLE} where as_of_date > ?",
        [day],
        0,
        f"the sync already applied a day after {day}: history is not re-published",
    )


def publish_day(
    warehouse: Warehouse,
    day: date,
    run_id: str,
    now: Callable[[], datetime],
    own_runs: Iterable[str] = (),
    override: Override | None = None,
) -> DayOutcome:
    """Apply one as-of day's scores to the sync table, or refuse (PublicationRefusedError)."""
    mine = {run_id, *own_runs}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with warehouse.session() as session:  # every read of the attempt on one connection
            state = store.read_sync(session)
            if state.last_day is not None and day < state.last_day:
                return DayOutcome(day, "skipped")
            scores = store.read_scores(session, day)
            if scores.empty:
                raise PublicationRefusedError(day, [f"no scores for {day}: score the day first"])
            writers = sorted(set(scores["run_id"]))
            scores_run = writers[0]
            problems = [] if len(writers) == 1 else [f"scores_of_run: the scores of {day} mix runs {writers[:3]}"]
            if scores_run not in mine:
                problems.append(
                    f"scores_of_run: the scores of {day} were written by run {scores_run}, not by this run: only the"
                    " run that wrote and checked scores publishes them"
                )
            problems += publication.verdict(session, day, scores_run).problems
            if problems and override is None:
                raise PublicationRefusedError(day, problems)
            lifts = read_lifts(session, day)
        moment = now()
        diff = diff_sync(state.current, scores, day, moment, run_id, lifts=lifts)
        watermark = _watermark_not_passed(day)
        guards = [leases.held_by(day, run_id), _scores_unchanged(day, scores_run, len(scores)), watermark]
        also = []
        if problems:
            note = f" [published under an override by {override.by}: {override.reason}]"
            diff.decisions["change_reason"] = diff.decisions["change_reason"] + note
            also.append(
                publication.override_row(day, scores_run, run_id, override.by, override.reason, tuple(problems), moment)
            )
        try:
            store.apply_sync(
                warehouse,
                diff,
                day,
                len(scores),
                moment,
                run_id,
                state,
                scores_run,
                guards=guards,
                also=also,
            )
        except store.StaleSyncError:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info(
                "the sync changed (another sync run or an intraday escalation) while %s was diffed: diffing again", day
            )
            continue
        except store.GuardFailedError as failed:
            if failed.guard is watermark:
                return DayOutcome(day, "skipped")
            raise
        if problems:
            log.warning("%s published under override by %s (%s): %s", day, override.by, override.reason, problems)
        return DayOutcome(day, "applied", diff.changed, diff.tombstoned, scores_run, tuple(problems))
    raise AssertionError("unreachable")


def publish_days(
    warehouse: Warehouse,
    days: list[date],
    run_id: str,
    now: Callable[[], datetime],
    own_runs: Iterable[str] = (),
    override: Override | None = None,
    is_stale: Callable[[leases.Lease], bool] | None = None,
) -> list[DayOutcome]:
    """Publish `days` in order under this run's leases (taken if the run does not hold them
    yet, e.g. a sync launched on its own), giving them back at the end. Stops at the first
    refused day: later days wait until it is fixed (or overridden)."""
    store.prepare(warehouse)
    own = tuple(own_runs)
    stale = is_stale or (lambda lease: leases.holder_is_dead(lease.holder))
    leases.acquire(warehouse, days, run_id, now(), is_stale=stale, own_runs=own)
    outcomes: list[DayOutcome] = []
    try:
        for day in days:
            outcomes.append(publish_day(warehouse, day, run_id, now, own, override))
    except PublicationRefusedError as refused:
        refused.applied_before = outcomes
        raise
    finally:
        leases.release(warehouse, days, run_id)
    return outcomes
