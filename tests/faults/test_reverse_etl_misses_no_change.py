"""The reverse-ETL contract, proven by a real consumer: the product's PostgreSQL table equals
the enforcement sync table row for row, and no change is missed, through daily runs, a refused
day, a backfill, a consumer killed between batches and inside a transaction, and a scoring
worker whose clock runs an hour behind the consumer's.

The sync table is built by the real `ml.score` functions (diff_sync + apply_sync) on DuckDB from
synthetic scores; the consumer is `python -m ml.reverse_etl` (killed runs in a subprocess, with
`ml.faults` crash points) writing to a PostgreSQL server started by the test. Next to it, a
consumer with the cursor rule the contract forbids (`updated_at > last seen`) runs on the same
schedule, to show that the lagging clock does hide changes from a time cursor.
"""

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from ml.faults import CRASH_AT_ENV
from ml.reverse_etl.consumer import SYNC_COLUMNS, read_cursor, sync_to_postgres
from ml.score import store
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.reverse_etl_helpers import score_and_sync, sync_table

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = 2_000
FIRST_DAY = date(2026, 9, 1)
BATCH_ROWS = 150
LAGGING = timedelta(hours=1)  # the scoring worker's clock is this far behind the consumer's
PASSWORD = "product-sync-password"


def consumer_clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Scenario:
    warehouse: DuckDBWarehouse
    conninfo: str
    env: dict[str, str]
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(12))
    delivered: int = 0  # rows the consumer committed, over every run (killed ones included)
    compared: int = 0  # product rows compared with the sync table, over every check
    missed: int = 0  # rows that differed after a consumer caught up
    naive: dict[str, tuple] = field(default_factory=dict)  # the time-cursor consumer's product
    naive_cursor: datetime = datetime(1970, 1, 1)

    def bands(self, previous: dict[str, str] | None, day: int) -> dict[str, str]:
        """A day's population: ~4% change band, ~1.5% leave, 30 join."""
        choices, weights = ["allow", "review", "block"], [0.9, 0.07, 0.03]
        if previous is None:
            return {f"acc_{i:05d}": str(self.rng.choice(choices, p=weights)) for i in range(ACCOUNTS)}
        bands = dict(previous)
        for account in self.rng.choice(sorted(bands), size=len(bands) // 25, replace=False):
            bands[account] = str(self.rng.choice(choices, p=[0.5, 0.3, 0.2]))
        for account in self.rng.choice(sorted(bands), size=len(bands) * 3 // 200, replace=False):
            del bands[account]
        bands.update({f"new_{day}_{i:03d}": "allow" for i in range(30)})
        return bands

    def consume(self) -> None:
        report = sync_to_postgres(self.warehouse, self.conninfo, batch_rows=BATCH_ROWS)
        self.delivered += report.rows

    def consume_in_subprocess(self, crash_at: str | None = None) -> subprocess.CompletedProcess:
        env = {**self.env, **({CRASH_AT_ENV: crash_at} if crash_at else {})}
        done = subprocess.run(
            [sys.executable, "-m", "ml.reverse_etl", "--batch-rows", str(BATCH_ROWS)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.delivered += sum(int(n) for n in re.findall(r"committed (\d+) rows", done.stderr))
        return done

    def consume_by_time(self) -> None:
        """The forbidden rule: rows with updated_at after the newest updated_at seen so far."""
        with self.warehouse.session() as session:
            rows = session.fetch_arrow(
                "select * from risk.enforcement_sync where updated_at > ?", [self.naive_cursor]
            ).to_pylist()
        for row in rows:
            self.naive[row["sync_key"]] = tuple(row[c] for c in SYNC_COLUMNS)
        if rows:
            self.naive_cursor = max(self.naive_cursor, max(r["updated_at"] for r in rows))

    def product(self) -> pd.DataFrame:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute("set time zone 'UTC'")
            rows = conn.execute(f"select {', '.join(SYNC_COLUMNS)} from vigil_enforcement order by sync_key").fetchall()
        frame = pd.DataFrame(rows, columns=list(SYNC_COLUMNS))
        frame["updated_at"] = [t.astimezone(UTC).replace(tzinfo=None) for t in frame["updated_at"]]
        return frame

    def check_caught_up(self) -> None:
        """Product == sync table, row for row and column for column."""
        product, sync = self.product(), sync_table(self.warehouse)[list(SYNC_COLUMNS)]
        merged = sync.astype(str).merge(product.astype(str), how="outer", indicator=True)
        self.compared += len(sync)
        self.missed += int((merged["_merge"] != "both").sum())
        assert len(product) == len(sync) and (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]

    def naive_missed(self) -> int:
        sync = sync_table(self.warehouse)
        current = {row["sync_key"]: tuple(row[c] for c in SYNC_COLUMNS) for row in sync.to_dict("records")}
        return sum(self.naive.get(key) != value for key, value in current.items())


@pytest.fixture
def scenario(postgres_server, tmp_path):
    postgres_server.create_database("product", owner="product_sync", owner_password=PASSWORD)
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    store.prepare(warehouse)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "VIGIL_", CRASH_AT_ENV))}
    env.update(postgres_server.env("product", "product_sync", PASSWORD))
    env.update({"VIGIL_WAREHOUSE": "duckdb", "VIGIL_DUCKDB_PATH": str(warehouse.path), "VIGIL_DATA_DIR": str(tmp_path)})
    return Scenario(warehouse, postgres_server.conninfo("product", "product_sync", PASSWORD), env)


def _cursor_and_product(s: Scenario) -> tuple[int, pd.DataFrame]:
    with psycopg.connect(s.conninfo, autocommit=True) as conn:
        cursor = read_cursor(conn)
    return cursor, s.product()


def test_a_restarted_consumer_misses_no_change_even_when_the_worker_clock_lags_an_hour(scenario):
    s = scenario
    days = [FIRST_DAY + timedelta(days=i) for i in range(7)]
    bands = {days[0]: s.bands(None, 0)}

    # Day 1, on time: the first full copy.
    score_and_sync(s.warehouse, days[0], bands[days[0]], consumer_clock(), seed=0)
    s.consume()
    s.check_caught_up()
    s.consume_by_time()

    # Day 2 on time, day 3 by the worker an hour behind; the consumer dies after its first batch.
    for i in (1, 2):
        bands[days[i]] = s.bands(bands[days[i - 1]], i)
        clock = consumer_clock() - (LAGGING if i == 2 else timedelta(0))
        assert score_and_sync(s.warehouse, days[i], bands[days[i]], clock, seed=i)
    killed = s.consume_in_subprocess(crash_at="reverse_etl.between_batches")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(re.findall(r"committed \d+ rows", killed.stderr)) == 1
    cursor_after_kill, _ = _cursor_and_product(s)
    assert 0 < cursor_after_kill < sync_table(s.warehouse)["sync_seq"].max()  # really mid-way

    # Day 4 refused (a partial feature day: 10% of the live accounts missing), then applied.
    before = sync_table(s.warehouse)
    partial = dict(sorted(s.bands(bands[days[2]], 3).items())[len(bands[days[2]]) // 10 :])
    with pytest.raises(ValueError, match="partial feature day"):
        score_and_sync(s.warehouse, days[3], partial, consumer_clock() - LAGGING, seed=3)
    pd.testing.assert_frame_equal(sync_table(s.warehouse), before)
    bands[days[3]] = s.bands(bands[days[2]], 3)
    assert score_and_sync(s.warehouse, days[3], bands[days[3]], consumer_clock() - LAGGING, seed=33)

    # Backfill: days 1-3 rescored differently (before the watermark: nothing applied), then day
    # 4 (the watermark) rescored with changes, by the lagging worker.
    before = sync_table(s.warehouse)
    for i in (0, 1, 2):
        assert (
            score_and_sync(s.warehouse, days[i], s.bands(bands[days[i]], 10 + i), consumer_clock(), seed=10 + i) is None
        )
    pd.testing.assert_frame_equal(sync_table(s.warehouse), before)
    bands[days[3]] = s.bands(bands[days[3]], 13)
    assert score_and_sync(s.warehouse, days[3], bands[days[3]], consumer_clock() - LAGGING, seed=13) > 0

    # The consumer dies inside a batch's transaction: neither rows nor cursor move.
    cursor, product = _cursor_and_product(s)
    killed = s.consume_in_subprocess(crash_at="reverse_etl.before_commit")
    assert killed.returncode == -signal.SIGKILL
    assert _cursor_and_product(s)[0] == cursor == cursor_after_kill
    pd.testing.assert_frame_equal(s.product(), product)

    # Restarted: it catches up.
    done = s.consume_in_subprocess()
    assert done.returncode == 0, done.stderr[-3000:]
    s.check_caught_up()
    s.consume_by_time()

    # Two more days, on time then lagging, each consumed.
    for i, lag in ((4, timedelta(0)), (5, LAGGING), (6, LAGGING)):
        bands[days[i]] = s.bands(bands[days[i - 1]], i)
        assert score_and_sync(s.warehouse, days[i], bands[days[i]], consumer_clock() - lag, seed=i)
        s.consume()
        s.check_caught_up()
        s.consume_by_time()

    with s.warehouse.session() as session:
        changes = session.fetch_arrow("select count(*) as n from risk.enforcement_decisions").to_pylist()[0]["n"]
    naive_missed = s.naive_missed()
    print(
        f"\nreverse-ETL scenario: {changes} changes in risk.enforcement_decisions; {s.delivered} rows delivered"
        f" by the consumer over {s.compared} rows compared at 5 catch-ups; {s.missed} missed;"
        f" an updated_at cursor would hold {naive_missed} of {len(sync_table(s.warehouse))} rows wrong"
    )
    assert s.missed == 0
    assert naive_missed > 0  # the lagging clock is a real hazard for a time cursor
