"""Dagster's SQLite event log, with each database's connection kept open between events.

The local instance (`make dev`, `make live`, `make demo`) stores a run's events in SQLite:
a database per run, plus an index database for asset and check events. Dagster's
`SqliteEventLogStorage` builds a new SQLAlchemy engine and opens a new connection for every
read and every write, and closes both after it, twice for an asset event or a check (the run's
database and the index). A near-real-time batch's dbt step yields ~300 events (a
materialization per model, a check per data test), so the batch spends seconds on setting up
and tearing down connections (BENCHMARKS.md, "Near-real-time path").

`PooledSqliteEventLogStorage` is that storage with the same files, the same schema and the
same locking (every access still holds the storage's lock, one at a time), except that it keeps
one engine per database with one open connection, reused by the next access:
- **Creating a database** (a new run's) uses a throwaway engine: Dagster's `_initdb` opens
  connections of its own while the caller holds the shard's.
- **Bounded.** The daemon and the webserver touch every run's database over time: at most
  `MAX_OPEN_DATABASES` stay open, the least recently used closed first.
- **Forked children** (a process forked from one holding engines) drop the parent's
  connections without closing them, and open their own.
- **Wipes and disposal** close every connection first.
- **Tables** Dagster checks for before each check event (`has_table`, a new engine each time)
  are remembered once found.

Other processes (the webserver, the daemon, a run) keep their own connections; SQLite's WAL
mode, which Dagster sets, lets them read while one writes. Production instances keep Dagster's
storage in PostgreSQL, where none of this applies.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import StringSource
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes.config_class import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

# The index, the runs in flight and the ones the UI shows; enough for a daemon's working set.
MAX_OPEN_DATABASES = 16

_LIVE: weakref.WeakSet[PooledSqliteEventLogStorage] = weakref.WeakSet()


def _forget_all_in_child() -> None:
    for storage in list(_LIVE):
        storage._forget_engines()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all_in_child)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` in `<dagster_home>/history/runs` (Dagster's own layout, so an
    existing home keeps its history) that reuses one connection per database. Configured in
    `orchestration/dagster.yaml`:

        event_log_storage:
          module: orchestration.lib.event_log_storage
          class: PooledSqliteEventLogStorage
          config:
            dagster_home: {env: DAGSTER_HOME}
    """

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._known_tables: set[str] = set()
        self._dagster_home = dagster_home
        super().__init__(base_dir=os.path.join(dagster_home, "history", "runs"), inst_data=inst_data)
        _LIVE.add(self)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance) -> None:
        """An instance loaded from another folder than `$DAGSTER_HOME` (the settings copied
        elsewhere) would keep its events in the wrong home: refused."""
        super().register_instance(instance)
        root = instance.root_directory
        if root and os.path.realpath(root) != os.path.realpath(self._dagster_home):
            raise ValueError(
                f"event log storage configured for {self._dagster_home} (DAGSTER_HOME) in an instance"
                f" loaded from {root}: set DAGSTER_HOME to the instance's folder"
            )

    def _engine(self, shard: str) -> Engine:
        """The shard's kept engine (created, and its database with it, on first use)."""
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
        url = self.conn_string_for_shard(shard)
        connect_args = {"timeout": sqlite_event_log.SQLITE_BUSY_TIMEOUT_SECONDS}
        if shard not in self._initialized_dbs:
            # Dagster's _initdb nests connections on the engine it is given: not this one.
            throwaway = sqlite_event_log.create_engine(url, poolclass=NullPool, connect_args=connect_args)
            self._initdb(throwaway)
            throwaway.dispose()
            self._initialized_dbs.add(shard)
        # One connection, kept: every access holds the storage's lock, so one is enough.
        engine = sqlite_event_log.create_engine(
            url, poolclass=QueuePool, pool_size=1, max_overflow=0, connect_args=connect_args
        )
        with self._engines_lock:
            self._engines[shard] = engine
            while len(self._engines) > MAX_OPEN_DATABASES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before every check event (for databases older than the table); a
        table, once there, stays."""
        if table_name in self._known_tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._known_tables.add(table_name)
        return found

    def _close_engines(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()

    def _forget_engines(self) -> None:
        """In a forked child: the parent's connections are the parent's to close."""
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines = OrderedDict()
        self._engines_lock = threading.Lock()
        self._db_lock = threading.Lock()

    def wipe(self) -> None:
        with self._db_lock:
            self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()
