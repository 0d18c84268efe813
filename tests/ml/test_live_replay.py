"""The live replay: history and queue split at a moment, then the queue lands at a fixed rate."""

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.live.replay import hold_back, replay

T0 = datetime(2026, 9, 29)


def _rows(prefix: str, hours: list[int]) -> pa.Table:
    return pa.table(
        {
            "event_id": [f"{prefix}{i:03d}" for i in range(len(hours))],
            "_loaded_at": pa.array([T0 + timedelta(hours=h) for h in hours], pa.timestamp("us")),
        }
    )


@pytest.fixture
def queued(tmp_path):
    source, landing, queue = tmp_path / "source", tmp_path / "landing", tmp_path / "queue"
    (source / "logins").mkdir(parents=True)
    (source / "orders").mkdir()
    pq.write_table(_rows("l", [-5, -1, 1, 3, 5]), source / "logins" / "2026w40_c000.parquet")
    pq.write_table(_rows("o", [-2, 2, 4]), source / "orders" / "2026w40_c000.parquet")
    (source / "orders" / "2026w40_c000_dirty.csv").write_text('"event_id"\n"broken"\n')
    counts = hold_back(source, landing, queue, T0)
    return landing, queue, counts


def test_hold_back_keeps_history_in_landing_and_queues_the_rest_in_load_order(queued):
    landing, queue, counts = queued
    assert counts == {"logins": 3, "orders": 2}
    assert pq.read_table(landing / "logins" / "2026w40_c000.parquet")["event_id"].to_pylist() == ["l000", "l001"]
    assert pq.read_table(landing / "orders" / "2026w40_c000.parquet")["event_id"].to_pylist() == ["o000"]
    assert (landing / "orders" / "2026w40_c000_dirty.csv").exists()
    assert pq.read_table(queue / "logins.parquet")["event_id"].to_pylist() == ["l002", "l003", "l004"]


def test_replay_lands_the_rate_per_tick_in_load_order_and_only_whole_files(queued, tmp_path):
    landing, queue, _ = queued
    live = tmp_path / "live"
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    files = list(replay(queue, live, rate=1.0, every=2.0, sleep=sleep, clock=lambda: now[0]))

    # 5 queued rows at 2 per tick: 3 ticks, 2 s apart; rows in _loaded_at order across tables.
    assert slept == [2.0, 2.0]
    landed = [pq.read_table(live / f.path)["event_id"].to_pylist() for f in files]
    assert [f.path.split("/")[0] for f in files] == ["logins", "orders", "logins", "orders", "logins"]
    assert landed == [["l002"], ["o001"], ["l003"], ["o002"], ["l004"]]
    assert files[0].loaded_from == T0 + timedelta(hours=1)
    assert not [p for p in live.rglob(".*")]  # nothing hidden left behind
    assert sorted(p.name for p in (live / "logins").iterdir()) == [
        "live0000000_logins.parquet",
        "live0000001_logins.parquet",
        "live0000002_logins.parquet",
    ]


def test_replay_stops_after_its_duration(queued, tmp_path):
    _, queue, _ = queued
    now = [0.0]
    files = list(
        replay(queue, tmp_path / "live", rate=1.0, every=2.0, seconds=3.0, sleep=lambda s: None, clock=lambda: now[0])
    )
    assert sum(f.rows for f in files) == 4  # ticks at 0 s and 2 s
