"""kill -9 in the middle of the sync apply: the sync table, the decision history and the
watermark stay as they were, and the next run completes."""

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.faults.world import (
    DAY,
    accounts,
    days_between,
    new_reviews,
    publish,
    published_state,
    rows,
    score_days,
)

REPO = Path(__file__).resolve().parents[2]
BEFORE = days_between(DAY - timedelta(days=7), DAY - timedelta(days=1))
SCORE_AND_PUBLISH = f"""
from datetime import date
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.faults.world import accounts, new_reviews, publish, score_days
world = DuckDBWarehouse(__import__("pathlib").Path({{path!r}}))
score_days(world, [date.fromisoformat("{DAY}")], "killed-run", lambda d: new_reviews(accounts(world, d)))
publish(world, [date.fromisoformat("{DAY}")], "killed-run")
print("published")
"""


@pytest.fixture
def world(published_world):
    """The week before DAY is scored (2% block, 5% review) and published."""
    return published_world


def test_a_sync_killed_mid_apply_leaves_the_previous_state_and_the_next_run_completes(world):
    before = published_state(world)

    killed = subprocess.run(
        [sys.executable, "-c", SCORE_AND_PUBLISH.format(path=str(world.path))],
        cwd=REPO,
        env={"PATH": "", "VIGIL_CRASH_AT": "sync.apply.after_upsert", "HOME": str(world.path.parent)},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert "published" not in killed.stdout
    assert published_state(world) == before
    # The dead run still holds D's lease; its process is gone, so the next run takes it over.
    assert rows(world, "select run_id from risk.day_leases") == [("killed-run",)]
    score_days(world, [DAY], "next-run", lambda d: new_reviews(accounts(world, d)))
    [outcome] = publish(world, [DAY], "next-run")
    assert outcome.status == "applied" and outcome.changed == 20  # 10 reviews end, 10 begin
    assert rows(world, "select max(as_of_date), count(*) from risk.enforcement_sync_runs") == [(DAY, len(BEFORE) + 1)]
