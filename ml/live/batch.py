"""One near-real-time micro-batch, after its new landing files were ingested and the incremental
models brought up to date:

1. which accounts to re-score (`touched_accounts`): those the engine's change log
   (`int_account_changes`) logged since the last batch's cut-off, and the accounts linked to
   them on the day (their link features read the others' enforcement and chargebacks);
2. their feature vectors as of the day (`fct_account_features_intraday`, the daily mart's SQL,
   run by the caller through dbt with `intraday_dbt_vars` and the day in the environment);
3. their scores with the verified champion (`score_batch`), appended to `risk.intraday_scores`
   with the batch, its cut-off and the files that triggered it;
4. their escalations (`ml.live.escalate`): through the batch's own gate into the enforcement
   sync, recorded with the batch in one transaction (`record_batch`). The daily run remains
   the system of record and reconciles them.

Roles (Snowflake): planning reads intermediate, ingest and risk (the transformer's grants);
writing the batch's accounts, scores and escalations is the scorer's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ml import settings
from ml.ingest.schema import LEDGER_TABLE
from ml.live.escalate import (
    MAX_ATTEMPTS,
    WAITS_FOR_DAILY,
    BatchInput,
    Escalation,
    IntradayLimits,
    daily_current,
    decide,
    read_last_daily,
)
from ml.policy import DecisionPolicy
from ml.score import store
from ml.score.checks import ERROR
from ml.score.feature_rows import feature_frame
from ml.score.publication import checks_table
from ml.score.rules import INTRADAY_RULES
from ml.score.schema import (
    CHECKS_TABLE,
    INTRADAY_ACCOUNTS_TABLE,
    INTRADAY_BATCHES_TABLE,
    INTRADAY_SCORES_COLUMNS,
    INTRADAY_SCORES_TABLE,
    ensure_risk_tables,
    risk_schema,
)
from ml.score.scoring import score_accounts
from ml.score.store import to_arrow
from ml.train.model import RiskModel
from ml.warehouse import Warehouse, WarehouseSession

INTRADAY_MODEL = "fct_account_features_intraday"
BATCH_COLUMNS = ("batch_id", "features_ingested_through")
_BATCH_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")  # a Dagster run id is; reasons and checks cite it


@dataclass(frozen=True)
class Batch:
    batch_id: str
    as_of_date: date | None  # None: nothing to re-score
    since: datetime | None  # the change-log mark its changes come after (None: nothing logged yet)
    cut_off: datetime | None  # the change-log mark when it was planned: what its vectors reflect
    accounts: tuple[str, ...]


NOTHING_SCORED = "nothing scored"  # the publication of a batch without accounts


def batch_id_for(run_id: str) -> str:
    """The batch of a run: its id, checked to be a plain token (it is cited in change reasons)."""
    if not _BATCH_ID.fullmatch(run_id):
        raise ValueError(f"not a usable batch id: {run_id!r}")
    return run_id


def _scalar(session: WarehouseSession, sql: str, params: Sequence[object] = ()) -> object:
    rows = session.fetch_arrow(sql, list(params)).to_pylist()
    return next(iter(rows[0].values())) if rows else None


def change_log_mark(session: WarehouseSession) -> datetime | None:
    """The newest ingestion the change log reflects (None before the first dbt run)."""
    return _scalar(session, f"select max(_ingested_through) as mark from {_intermediate()}.int_account_changes")


def prepare(session: WarehouseSession) -> None:
    """Create the risk tables a batch writes (the scorer's role; planning only reads)."""
    ensure_risk_tables(session)


def last_cut_off(session: WarehouseSession) -> datetime | None:
    """The cut-off of the newest batch recorded (scored or empty): where the next batch's
    changes start."""
    return _scalar(session, f"select max(cut_off) as cut_off from {risk_schema()}.{INTRADAY_BATCHES_TABLE}")


def waited_since(session: WarehouseSession, since: datetime) -> datetime:
    """`since`, moved back over the newest batches the intraday gate refused only because the
    daily run of the day before theirs had not published (`intraday.daily_current`), if it has
    now: their changes are decided again instead of waiting for the account's next row. (Rows
    landing just after midnight would otherwise wait a day: the daily run of their day.)"""
    risk = risk_schema()
    # Each batch with how many error checks it failed, and whether daily_current was one.
    batches = session.fetch_arrow(
        f"""
        select batches.as_of_date, batches.since, batches.publication,
            coalesce(failed.checks, 0) as failed_checks, coalesce(failed.waited, 0) as waited
        from {risk}.{INTRADAY_BATCHES_TABLE} as batches
        left join (
            select run_id, count(distinct check_name) as checks,
                max(case when check_name = ? then 1 else 0 end) as waited
            from {risk}.{CHECKS_TABLE}
            where not passed and severity = ?
            group by run_id
        ) as failed on failed.run_id = batches.batch_id
        where batches.cut_off <= ?
        order by batches.cut_off desc
        limit 1000
        """,
        [WAITS_FOR_DAILY, ERROR, since],
    ).to_pylist()
    last_daily, overridden = read_last_daily(session)
    for batch in batches:
        if batch["publication"] == NOTHING_SCORED:
            continue
        only_waited = batch["failed_checks"] == 1 and batch["waited"] == 1
        if not only_waited or None in (batch["as_of_date"], batch["since"]):
            break
        if not daily_current(batch["as_of_date"], last_daily, overridden).passed:
            break
        since = min(since, batch["since"])
    return since


def touched_accounts(session: WarehouseSession, since: datetime, day: date) -> list[str]:
    """Accounts logged in the change log after `since`, and every account linked to one of them
    on `day` (any identifier type), sorted."""
    intermediate = _intermediate()
    rows = session.fetch_arrow(
        f"""
        with changed as (
            select distinct account_id
            from {intermediate}.int_account_changes
            where _ingested_through > ?
        ),
        linked as (
            select links.linked_account_id as account_id
            from {intermediate}.int_account_links as links
            inner join changed on changed.account_id = links.account_id
            where links.linked_from <= ? and links.linked_until > ?
        )
        select account_id from changed
        union
        select account_id from linked
        order by account_id
        """,
        [since, day, day],
    )
    return [str(a) for a in rows.column("account_id").to_pylist()]


def plan_batch(session: WarehouseSession, run_id: str, day: date | None = None) -> Batch:
    """The batch's accounts: those the change log logged since the last batch's cut-off, or
    since an earlier one when batches waited for the daily run (`waited_since`; for the first
    batch ever: since the newest entry older than this run's first load), as of
    `day` (default: the newest day those changes fall on, the data's own clock). The batch is
    the run's: its id is the run id."""
    batch_id, cut_off = batch_id_for(run_id), change_log_mark(session)
    since = last_cut_off(session)
    if since is not None:
        since = waited_since(session, since)
    if since is None:
        first_load = _scalar(
            session,
            f"select min(ingested_at) as first_load from {settings.ingest_schema()}.{LEDGER_TABLE} where run_id = ?",
            [run_id],
        )
        if first_load is None:  # the run loaded nothing: nothing is new, start from here
            return Batch(batch_id, day, cut_off, cut_off, ())
        since = _scalar(
            session,
            f"select coalesce(max(_ingested_through), cast('1900-01-01' as timestamp)) as since"
            f" from {_intermediate()}.int_account_changes where _ingested_through < ?",
            [first_load],
        )
    if day is None:
        day = _scalar(
            session,
            f"select max(changed_from) as day from {_intermediate()}.int_account_changes where _ingested_through > ?",
            [since],
        )
        if day is None:
            return Batch(batch_id, None, since, cut_off or since, ())
    return Batch(batch_id, day, since, cut_off, tuple(touched_accounts(session, since, day)))


def write_batch_accounts(session: WarehouseSession, batch: Batch) -> None:
    """Replace `risk.intraday_batch_accounts` with the batch's accounts (dbt reads them)."""
    frame = pd.DataFrame({"batch_id": [batch.batch_id] * len(batch.accounts), "account_id": list(batch.accounts)})
    with session.transaction():
        session.execute(f"delete from {risk_schema()}.{INTRADAY_ACCOUNTS_TABLE}")
        session.append_arrow(risk_schema(), INTRADAY_ACCOUNTS_TABLE, to_arrow(frame, INTRADAY_ACCOUNTS_TABLE))


def intraday_dbt_vars() -> str:
    """`--vars` of the dbt run that computes a batch's vectors: the relation of its accounts.
    Neither the batch id (the model reads it from that relation) nor its day (the caller passes
    it in the environment) is among them, so every batch's vars are the same and dbt reuses
    its saved parse (orchestration/defs/dbt/invocation.py)."""
    return json.dumps({"feature_accounts": f"{risk_schema()}.{INTRADAY_ACCOUNTS_TABLE}"})


def read_batch_features(session: WarehouseSession, batch_id: str) -> pd.DataFrame:
    marts = settings.schema_name("marts")
    return feature_frame(session.fetch_arrow(f"select * from {marts}.{INTRADAY_MODEL} where batch_id = ?", [batch_id]))


def score_batch(
    features: pd.DataFrame, model: RiskModel, policy: DecisionPolicy, *, trigger_files: Sequence[str], **scoring
) -> pd.DataFrame:
    """The batch's rows of `risk.intraday_scores`: `score_accounts` (with `scoring`: model name
    and version, feature version, scored_at, run_id) on its vectors, reasons for the accounts it
    puts in review or block as in the daily run, with the batch's columns; the intraday rules
    (`ml.score.rules.INTRADAY_RULES`: the daily run's and the takeover rule) move the `allow`
    rows they match to `review`."""
    cut_offs = set(features["features_ingested_through"])
    if len(cut_offs) > 1 or features["batch_id"].nunique() > 1:
        raise ValueError("score_batch takes the rows of one batch (one batch_id, one cut-off)")
    vectors = features.drop(columns=list(BATCH_COLUMNS))
    scores = score_accounts(vectors, model, policy, rules=INTRADAY_RULES, **scoring)
    scores.insert(0, "batch_id", features["batch_id"].to_numpy())
    scores["features_ingested_through"] = features["features_ingested_through"].to_numpy()
    scores["trigger_files"] = ", ".join(sorted(trigger_files))
    return scores


def no_scores() -> pd.DataFrame:
    """The scores of a batch with nothing to score."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name, _ in INTRADAY_SCORES_COLUMNS})


def record_batch(
    warehouse: Warehouse,
    batch: Batch,
    scores: pd.DataFrame,
    trigger_files: Sequence[str],
    finished_at: datetime,
    escalation: Escalation | None = None,
) -> None:
    """Append the batch's scores and its `risk.intraday_batches` row in one transaction (an
    empty batch too: its cut-off is where the next one starts). A batch id is written once.

    With an `escalation` (`ml.live.escalate.decide`), the same transaction records the gate's
    checks and, if they all passed, applies the escalations to the sync table under the sync's
    lock; if the sync moved since the escalation was computed, nothing is written
    (store.StaleSyncError): decide again."""
    if len(scores) and set(scores["batch_id"]) != {batch.batch_id}:
        raise ValueError(f"scores of other batches than {batch.batch_id}: {sorted(set(scores['batch_id']))[:5]}")
    outside = set(scores["account_id"]) - set(batch.accounts)
    if outside:  # the escalation read the sync rows of the batch's accounts only
        raise ValueError(f"batch {batch.batch_id} scores accounts it did not plan: {sorted(outside)[:5]}")
    if len(scores) and set(scores["features_ingested_through"]) != {batch.cut_off}:
        # The change log moved between planning and the vectors: they reflect other data.
        raise ValueError(
            f"batch {batch.batch_id}: vectors cut off at {set(scores['features_ingested_through'])}, "
            f"planned at {batch.cut_off}"
        )
    publish = escalation is not None and not escalation.refused and escalation.diff.changed > 0
    row = {
        "batch_id": batch.batch_id,
        "as_of_date": batch.as_of_date,
        "since": batch.since,
        "cut_off": batch.cut_off,
        "accounts_touched": len(batch.accounts),
        "accounts_scored": len(scores),
        "trigger_files": ", ".join(sorted(trigger_files)),
        "finished_at": finished_at,
        "escalated": escalation.diff.changed if publish else 0,
        "publication": escalation.publication[:5000] if escalation is not None else NOTHING_SCORED,
    }
    with warehouse.session() as session, session.transaction():
        if publish:  # first: the sync's lock, before anything else is written
            store.lock_sync(session, escalation.seen, f"batch {batch.batch_id}")
        if _scalar(
            session,
            f"select count(*) as n from {risk_schema()}.{INTRADAY_BATCHES_TABLE} where batch_id = ?",
            [batch.batch_id],
        ):
            raise ValueError(f"batch {batch.batch_id} is already recorded")
        if len(scores):
            session.append_arrow(risk_schema(), INTRADAY_SCORES_TABLE, to_arrow(scores, INTRADAY_SCORES_TABLE))
        session.append_arrow(
            risk_schema(), INTRADAY_BATCHES_TABLE, to_arrow(pd.DataFrame([row]), INTRADAY_BATCHES_TABLE)
        )
        if escalation is not None:
            checks = checks_table(batch.as_of_date, batch.batch_id, escalation.checks, finished_at)
            session.append_arrow(risk_schema(), CHECKS_TABLE, checks)
        if publish:
            store.upsert_changes(session, escalation.diff, escalation.seen.last_seq)


def record_and_escalate(
    warehouse: Warehouse,
    batch: Batch,
    scores: pd.DataFrame,
    trigger_files: Sequence[str],
    batch_input: BatchInput,
    now: Callable[[], datetime],
    limits: IntradayLimits | None = None,
) -> Escalation:
    """Record a scored batch with its escalations (`decide` + `record_batch`), deciding again if a
    daily sync landed in between."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        escalation = decide(warehouse, batch.as_of_date, batch.batch_id, scores, batch_input, now, limits)
        try:
            record_batch(warehouse, batch, scores, trigger_files, now(), escalation)
        except store.StaleSyncError:
            if attempt == MAX_ATTEMPTS:
                raise
            continue
        return escalation
    raise AssertionError("unreachable")


def _intermediate() -> str:
    return settings.schema_name("intermediate")
