"""One run at a time owns an as-of day's scores and sync: a lease per day in the warehouse.

A run takes the leases of its days before it writes any score, and gives them back after its
sync. While it holds them, no other run can rescore or publish those days; every score write
and sync apply re-checks the lease inside its own transaction. A lease whose run is over (it
finished, failed, or its process died) can be taken over; who decides "over" is the caller
(`is_stale`): the Dagster adapter asks the Dagster instance, and any caller can tell a dead
process on this host (`holder_is_dead`).

Taking and giving back leases serialise on one lock row (`day_lease_lock`): every lease
transaction updates it first. On Snowflake an UPDATE holds the table's lock until commit, so a
second taker waits and then reads the first one's leases; on DuckDB one process writes a file
at a time, and two connections updating the same row conflict instead of both succeeding.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ml.score.schema import LEASE_LOCK_TABLE, LEASES_TABLE, risk_schema
from ml.score.store import Guard, to_arrow
from ml.warehouse import Warehouse, WarehouseSession


def _leases() -> str:
    return f"{risk_schema()}.{LEASES_TABLE}"


def _lock() -> str:
    return f"{risk_schema()}.{LEASE_LOCK_TABLE}"


@dataclass(frozen=True)
class Lease:
    as_of_date: date
    run_id: str
    holder: str
    acquired_at: datetime


class DayLeasedError(RuntimeError):
    """Another run, still going, owns one of the days."""


def current_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str) -> bool:
    """True when the holder is a process on this host that no longer exists; False when it is
    alive or on another host (this host cannot tell)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def prepare_lock(session: WarehouseSession) -> None:
    present = session.fetch_arrow(f"select count(*) as n from {_lock()}").to_pylist()[0]["n"]
    if not present:
        session.execute(f"insert into {_lock()} (name, changed_at) values ('days', current_timestamp)")


def _take_lock(session: WarehouseSession) -> None:
    session.execute(f"update {_lock()} set changed_at = current_timestamp")


def _placeholders(days: Sequence[date]) -> str:
    return ", ".join("?" for _ in days)


def read_leases(session: WarehouseSession, days: Sequence[date]) -> list[Lease]:
    if not days:
        return []
    rows = session.fetch_arrow(
        f"select as_of_date, run_id, holder, acquired_at from {_leases()} where as_of_date in ({_placeholders(days)})",
        list(days),
    ).to_pylist()
    return [Lease(**row) for row in rows]


def acquire(
    warehouse: Warehouse,
    days: Sequence[date],
    run_id: str,
    now: datetime,
    is_stale: Callable[[Lease], bool] = lambda lease: holder_is_dead(lease.holder),
    own_runs: Iterable[str] = (),
    holder: str | None = None,
) -> list[Lease]:
    """Take the leases of `days` for `run_id`, all or none. Leases of `own_runs` (the run's
    re-execution family) and stale leases are taken over; returns the ones taken over."""
    mine = {run_id, *own_runs}
    with warehouse.session() as session, session.transaction():
        _take_lock(session)
        held = read_leases(session, days)
        foreign = [lease for lease in held if lease.run_id not in mine]
        live = [lease for lease in foreign if not is_stale(lease)]
        if live:
            listed = "; ".join(
                f"{lease.as_of_date} by run {lease.run_id} ({lease.holder}, since {lease.acquired_at:%Y-%m-%d %H:%M})"
                for lease in sorted(live, key=lambda lease: lease.as_of_date)[:5]
            )
            raise DayLeasedError(
                f"{len(live)} of the run's days are owned by another run that is still going: {listed}."
                " Nothing written; run again once it has finished"
            )
        session.execute(f"delete from {_leases()} where as_of_date in ({_placeholders(days)})", list(days))
        rows = pd.DataFrame({"as_of_date": list(days), "run_id": run_id, "holder": holder or current_holder()})
        rows["acquired_at"] = now
        session.append_arrow(risk_schema(), LEASES_TABLE, to_arrow(rows, LEASES_TABLE))
    return [lease for lease in held if lease.run_id not in mine]


def release(warehouse: Warehouse, days: Sequence[date], run_id: str) -> None:
    """Give back the leases `run_id` holds among `days` (others' leases are left alone)."""
    if not days:
        return
    with warehouse.session() as session, session.transaction():
        _take_lock(session)
        session.execute(
            f"delete from {_leases()} where run_id = ? and as_of_date in ({_placeholders(days)})", [run_id, *days]
        )


def held_by(day: date, run_id: str) -> Guard:
    """A check for a write's transaction: `run_id` still owns `day`."""
    return Guard(
        f"select count(*) as n from {_leases()} where as_of_date = ? and run_id = ?",
        [day, run_id],
        1,
        f"run {run_id} does not own {day} any more (another run took its lease): nothing written",
    )
