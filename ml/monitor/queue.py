"""What a reviewer needs about one scored day, read from the warehouse (read-only): the review
and block items, a rule's reviews first (`ml.score.rules`: they take the capacity first, as in
the decision policy), then highest score first, each with its reasons, its recent scores, its
decision history and its linked accounts' own status, plus the day's band rates, drift and publication status.
Flagged accounts of one linked group (`group_id`, the mart's `linked_group_id`) make one work
item: a reviewer judges the group, its shared identifiers and its members' evidence together.

Everything is as of the day: decisions and statuses up to its as-of date, links that held on it.
Rendering is `ml.monitor.report_html`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ml import settings
from ml.score.checks import BANDS
from ml.score.rules import RULE_CODES, rule_codes_sql
from ml.score.schema import (
    CHECKS_TABLE,
    DECISIONS_TABLE,
    OVERRIDES_TABLE,
    REASON_SLOTS,
    SCORES_TABLE,
    SYNC_RUNS_TABLE,
    risk_schema,
)
from ml.warehouse import Warehouse, WarehouseSession

LINKS_MODEL = "int_account_links"
FLAGGED = ("review", "block")
HISTORY_DAYS = 14
MAX_ITEMS = 1000  # a day with more flagged accounts shows the highest and says how many are left out
MAX_LINKED = 25  # per item, most recently linked first


@dataclass(frozen=True)
class DayScore:
    day: date
    score: float
    band: str


@dataclass(frozen=True)
class Decision:
    as_of_date: date
    decision: str
    previous_decision: str | None
    change_reason: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class LinkedAccount:
    account_id: str
    link_types: tuple[str, ...]
    decision: str | None  # latest decision as of the day (None: never in the sync table)
    score: float | None  # score on the day (None: not scored that day)
    band: str | None
    in_queue: bool


@dataclass(frozen=True)
class QueueItem:
    account_id: str
    score: float
    band: str
    reasons: tuple[tuple[str, str], ...]  # (code, text)
    history: tuple[DayScore, ...]  # oldest first, up to the day
    decisions: tuple[Decision, ...]  # oldest first, up to the day
    linked: tuple[LinkedAccount, ...]
    linked_total: int
    group_id: str | None = None  # the account's linked group on the day (null: no strong link)

    @property
    def by_rule(self) -> bool:
        """In review because a rule matched (`ml.score.rules`): its first reason is the rule's."""
        return bool(self.reasons) and self.reasons[0][0] in RULE_CODES


@dataclass(frozen=True)
class WorkItem:
    """What a reviewer works as one: a flagged account, or the flagged members of one linked
    group (in the queue's order: a rule's reviews, then highest score first)."""

    members: tuple[QueueItem, ...]
    group_id: str | None = None  # set when the item is a group of two or more flagged members

    @property
    def score(self) -> float:
        """The highest of its members' scores (a rule's review comes first whatever its score)."""
        return max(m.score for m in self.members)

    @property
    def shared_link_types(self) -> tuple[str, ...]:
        """The identifier types that link the group's flagged members to each other."""
        ids = {m.account_id for m in self.members}
        return tuple(
            sorted({t for m in self.members for la in m.linked if la.account_id in ids for t in la.link_types})
        )


@dataclass(frozen=True)
class CheckRow:
    check: str
    passed: bool
    severity: str
    statistic: float | None
    detail: str


@dataclass(frozen=True)
class Publication:
    status: str  # published | published under override | refused | not published yet | not checked
    detail: str


@dataclass(frozen=True)
class DayQueue:
    day: date
    model_versions: tuple[str, ...]
    scores_run_id: str | None
    rows: int
    band_counts: dict[str, int]
    previous_band_rates: dict[str, float]  # mean over the previous scored days in the window
    items: tuple[QueueItem, ...]
    flagged_total: int
    checks: tuple[CheckRow, ...]  # everything recorded for the day by the scoring run
    publication: Publication
    notes: tuple[str, ...] = ()  # what the page could not show, and why
    history_days: int = HISTORY_DAYS
    generated_at: datetime | None = None
    band_history: tuple[tuple[date, dict[str, float]], ...] = field(default_factory=tuple)

    @property
    def work_items(self) -> tuple[WorkItem, ...]:
        """The shown items as a reviewer works them: the members of a linked group together, at
        the place of its first member in the queue; every other account on its own."""
        groups: dict[str, list[QueueItem]] = defaultdict(list)
        for item in self.items:
            if item.group_id is not None:
                groups[item.group_id].append(item)
        work, placed = [], set()
        for item in self.items:
            members = groups.get(item.group_id, []) if item.group_id is not None else []
            if len(members) < 2:
                work.append(WorkItem((item,)))
            elif item.group_id not in placed:
                placed.add(item.group_id)
                work.append(WorkItem(tuple(members), item.group_id))
        return tuple(work)

    @property
    def band_rates(self) -> dict[str, float]:
        return {band: self.band_counts.get(band, 0) / self.rows if self.rows else 0.0 for band in BANDS}


class NoScoresError(LookupError):
    """The day has no scores: nothing to report."""


def links_table() -> str:
    return f"{settings.schema_name('intermediate')}.{LINKS_MODEL}"


def _exists(session: WarehouseSession, schema: str, table: str) -> bool:
    found = session.fetch_arrow(
        "select count(*) as n from information_schema.tables where lower(table_schema) = ? and lower(table_name) = ?",
        [schema.lower(), table.lower()],
    ).to_pylist()[0]["n"]
    return bool(found)


def _flagged_sql() -> str:
    bands = ", ".join(f"'{b}'" for b in FLAGGED)
    return f"select account_id from {risk_schema()}.{SCORES_TABLE} where as_of_date = ? and band in ({bands})"


def _latest_decisions_sql(accounts_sql: str) -> str:
    """The latest decision up to the day of each account of `accounts_sql` (params: day, then
    the accounts' own)."""
    return f"""
        select account_id, decision
        from {risk_schema()}.{DECISIONS_TABLE}
        where as_of_date <= ? and account_id in ({accounts_sql})
        qualify row_number() over (partition by account_id order by sync_seq desc, decided_at desc) = 1
    """


def _publication(session: WarehouseSession, day: date, scores_run: str | None, checks: list[CheckRow]) -> Publication:
    if scores_run is None:
        return Publication("not checked", "no scores")
    applied = session.fetch_arrow(
        f"select applied_at, run_id, changed from {risk_schema()}.{SYNC_RUNS_TABLE}"
        " where as_of_date = ? and scores_run_id = ? order by applied_at",
        [day, scores_run],
    ).to_pylist()
    failed = [c for c in checks if not c.passed and c.severity == "error"]
    if applied:
        first = applied[0]
        override = session.fetch_arrow(
            f"select overridden_by, reason from {risk_schema()}.{OVERRIDES_TABLE}"
            " where as_of_date = ? and scores_run_id = ? order by created_at",
            [day, scores_run],
        ).to_pylist()
        detail = (
            f"applied at {first['applied_at']:%Y-%m-%d %H:%M} UTC by run {first['run_id']}: {first['changed']} changes"
        )
        if override:
            who = override[-1]
            return Publication(
                "published under override", f"{detail}; overridden by {who['overridden_by']}: {who['reason']}"
            )
        return Publication("published", detail)
    if not checks:
        return Publication("not checked", f"no publication checks recorded for run {scores_run}")
    if failed:
        return Publication("refused", "; ".join(f"{c.check}: {c.detail}" for c in failed))
    return Publication(
        "not published yet", "checks passed; the sync has not applied the day (or skipped it: before its watermark)"
    )


def read_queue(
    source: Warehouse,
    day: date,
    history_days: int = HISTORY_DAYS,
    max_items: int = MAX_ITEMS,
    max_linked: int = MAX_LINKED,
    generated_at: datetime | None = None,
) -> DayQueue:
    """Everything the day's review-queue page shows, as of `day`."""
    risk = risk_schema()
    first = day - timedelta(days=history_days - 1)
    reason_columns = ", ".join(f"reason_code_{i}, reason_text_{i}" for i in range(1, REASON_SLOTS + 1))
    with source.session() as session:
        counts = session.fetch_arrow(
            f"select band, count(*) as n, min(run_id) as run_id, max(run_id) as last_run,"
            f" min(model_version) as v_min, max(model_version) as v_max"
            f" from {risk}.{SCORES_TABLE} where as_of_date = ? group by band",
            [day],
        ).to_pylist()
        if not counts:
            raise NoScoresError(f"no scores for {day} in {risk}.{SCORES_TABLE}: score the day first")
        runs = sorted({r["run_id"] for r in counts} | {r["last_run"] for r in counts})
        versions = tuple(sorted({r["v_min"] for r in counts} | {r["v_max"] for r in counts}))
        band_counts = {band: 0 for band in BANDS} | {r["band"]: int(r["n"]) for r in counts}
        flagged = session.fetch_arrow(
            f"select account_id, score, band, group_id, {reason_columns} from {risk}.{SCORES_TABLE}"
            f" where as_of_date = ? and band in ({', '.join(repr(b) for b in FLAGGED)})"
            f" order by case when reason_code_1 in ({rule_codes_sql()}) then 0 else 1 end, score desc, account_id",
            [day],
        ).to_pylist()
        shown = flagged[:max_items]
        history_rows = session.fetch_arrow(
            f"select account_id, as_of_date, score, band from {risk}.{SCORES_TABLE}"
            f" where as_of_date between ? and ? and account_id in ({_flagged_sql()}) order by as_of_date",
            [first, day, day],
        ).to_pylist()
        decision_rows = session.fetch_arrow(
            f"select account_id, as_of_date, decision, previous_decision, change_reason, decided_at"
            f" from {risk}.{DECISIONS_TABLE} where as_of_date <= ? and account_id in ({_flagged_sql()})"
            " order by account_id, sync_seq, decided_at",
            [day, day],
        ).to_pylist()
        band_history = session.fetch_arrow(
            f"select as_of_date, band, count(*) as n from {risk}.{SCORES_TABLE}"
            " where as_of_date between ? and ? group by as_of_date, band order by as_of_date",
            [first, day],
        ).to_pylist()
        scores_run = runs[0] if len(runs) == 1 else None
        check_rows = []
        if scores_run is not None:
            check_rows = [
                CheckRow(r["check_name"], bool(r["passed"]), r["severity"], r["statistic"], r["detail"])
                for r in session.fetch_arrow(
                    f"select check_name, passed, severity, statistic, detail from {risk}.{CHECKS_TABLE}"
                    " where as_of_date = ? and run_id = ? order by check_name",
                    [day, scores_run],
                ).to_pylist()
            ]
        publication = _publication(session, day, scores_run, check_rows)
        notes = []
        if scores_run is None:
            notes.append(f"the day's scores mix runs {runs}: publication status unknown")
        links, linked_status = _links(session, day, notes)
    history: dict[str, list[DayScore]] = defaultdict(list)
    for row in history_rows:
        history[row["account_id"]].append(DayScore(row["as_of_date"], float(row["score"]), row["band"]))
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for row in decision_rows:
        decisions[row["account_id"]].append(
            Decision(
                row["as_of_date"], row["decision"], row["previous_decision"], row["change_reason"], row["decided_at"]
            )
        )
    queued = {row["account_id"] for row in shown}
    items = []
    for row in shown:
        account = row["account_id"]
        reasons = tuple(
            (row[f"reason_code_{i}"], row[f"reason_text_{i}"] or "")
            for i in range(1, REASON_SLOTS + 1)
            if row[f"reason_code_{i}"]
        )
        linked_all = links.get(account, [])
        linked = tuple(
            LinkedAccount(other, tuple(types), *linked_status.get(other, (None, None, None)), in_queue=other in queued)
            for other, types in linked_all[:max_linked]
        )
        items.append(
            QueueItem(
                account,
                float(row["score"]),
                row["band"],
                reasons,
                tuple(history[account]),
                tuple(decisions[account]),
                linked,
                len(linked_all),
                row["group_id"],
            )
        )
    totals: dict[date, int] = defaultdict(int)
    for row in band_history:
        totals[row["as_of_date"]] += int(row["n"])
    rates: dict[date, dict[str, float]] = defaultdict(lambda: {band: 0.0 for band in BANDS})
    for row in band_history:
        rates[row["as_of_date"]][row["band"]] = int(row["n"]) / totals[row["as_of_date"]]
    previous = [r for d, r in rates.items() if d < day][-7:]
    previous_rates = {band: sum(r[band] for r in previous) / len(previous) for band in BANDS} if previous else {}
    return DayQueue(
        day=day,
        model_versions=versions,
        scores_run_id=scores_run,
        rows=sum(band_counts.values()),
        band_counts=band_counts,
        previous_band_rates=previous_rates,
        items=tuple(items),
        flagged_total=len(flagged),
        checks=tuple(check_rows),
        publication=publication,
        notes=tuple(notes),
        history_days=history_days,
        generated_at=generated_at,
        band_history=tuple(sorted(rates.items())),
    )


def _links(session: WarehouseSession, day: date, notes: list[str]):
    """Links that held on the day from each flagged account, and every linked account's own
    status (latest decision up to the day, score and band on the day). A missing link model
    (not built yet, or renamed) is a note on the page, not a failure."""
    table = links_table()
    schema, name = table.split(".")
    if not _exists(session, schema, name):
        notes.append(f"{table} not found: linked accounts not shown (build the dbt intermediate models)")
        return {}, {}
    link_rows = session.fetch_arrow(
        f"select account_id, linked_account_id, link_type, linked_from from {table}"
        f" where linked_from <= ? and linked_until > ? and account_id in ({_flagged_sql()})"
        " order by account_id, linked_from desc, linked_account_id",
        [day, day, day],
    ).to_pylist()
    others_sql = (
        f"select linked_account_id from {table} where linked_from <= ? and linked_until > ?"
        f" and account_id in ({_flagged_sql()})"
    )
    scores = session.fetch_arrow(
        f"select account_id, score, band from {risk_schema()}.{SCORES_TABLE}"
        f" where as_of_date = ? and account_id in ({others_sql})",
        [day, day, day, day],
    ).to_pylist()
    latest = session.fetch_arrow(_latest_decisions_sql(others_sql), [day, day, day, day]).to_pylist()
    types: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for row in link_rows:
        types[row["account_id"]].setdefault(row["linked_account_id"], []).append(row["link_type"])
    links = {
        account: [(other, _shown_types(kinds)) for other, kinds in others.items()] for account, others in types.items()
    }
    decided = {row["account_id"]: row["decision"] for row in latest}
    status = {other: (decided.get(other), None, None) for other in decided}
    for row in scores:
        status[row["account_id"]] = (decided.get(row["account_id"]), float(row["score"]), row["band"])
    return links, status


def _shown_types(kinds: list[str]) -> list[str]:
    """`strong` is the union of device, card and address links: show it only on its own."""
    specific = sorted({k for k in kinds if k != "strong"})
    return specific or sorted(set(kinds))
