"""The publication gate refuses a day whose data is incomplete or whose bands collapsed: nothing
of that day reaches the enforcement sync, and the refusal says why."""

from datetime import date, datetime

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.ingest.load import ingest_landing
from ml.score.publish import Override, PublicationRefusedError
from tests.faults.world import (
    DAY,
    accounts,
    normal_bands,
    publish,
    published_state,
    rows,
    score_days,
    scores_frame,
)

ORDERS = [c.name for c in TABLES["orders"].columns]


@pytest.fixture
def world(published_world):
    """The week before DAY is scored (2% block, 5% review) and published."""
    return published_world


def _scores_fall(world) -> dict[str, str]:
    """What a near-empty orders day does to the scores: every account falls to allow."""
    return {a: "allow" for a in accounts(world)}


def _take_out_orders_loaded_on(world, day: date):
    """Remove the day's orders rows from raw, as if their file never arrived; returns them."""
    with duckdb.connect(str(world.path)) as con:
        taken = con.execute(
            f"select {', '.join(ORDERS)} from raw.orders where cast(_loaded_at as date) = ?", [day]
        ).to_arrow_table()
        con.execute("delete from raw.orders where cast(_loaded_at as date) = ?", [day])
    assert taken.num_rows > 100
    return taken


def _refused(world, run_id: str) -> PublicationRefusedError:
    with pytest.raises(PublicationRefusedError) as refused:
        publish(world, [DAY], run_id)
    return refused.value


def test_a_missing_orders_file_refuses_the_day_and_applies_nothing(world):
    _take_out_orders_loaded_on(world, DAY)
    before = published_state(world)

    checks = score_days(world, [DAY], "run-d", lambda d: _scores_fall(world))[DAY]
    refused = _refused(world, "run-d")

    failed = {r.check for r in checks if r.blocks}
    assert {"volume.orders", "freshness.orders"} <= failed
    assert any(p.startswith("volume.orders: collapsed: 0 rows loaded") for p in refused.problems)
    assert str(DAY) in str(refused) and "nothing applied" in str(refused)
    assert published_state(world) == before  # 0 sync changes, no history, watermark unmoved


def test_a_fully_quarantined_orders_file_refuses_the_day(world, tmp_path):
    taken = _take_out_orders_loaded_on(world, DAY)
    # The producer starts writing amounts with a currency sign: every row is quarantined as
    # "unparseable amount_usd". (Upper-case headers, the example, now load: ingestion
    # matches contract names case-insensitively.)
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    frame = taken.to_pandas()
    frame["amount_usd"] = "$" + frame["amount_usd"].astype(str)
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), landing / "orders" / f"{DAY}.csv")
    report = ingest_landing(world, landing, run_id="ingest-d", now=datetime(2027, 1, 1))
    assert report.rows_quarantined == taken.num_rows and report.rows_loaded == 0
    before = published_state(world)

    checks = score_days(world, [DAY], "run-d", lambda d: _scores_fall(world))[DAY]
    refused = _refused(world, "run-d")

    quarantine = next(r for r in checks if r.check == "quarantine.orders")
    assert quarantine.blocks and quarantine.statistic == 1.0
    assert any(p.startswith("quarantine.orders:") for p in refused.problems)
    assert published_state(world) == before


def test_a_late_orders_file_refuses_the_day_until_it_arrives_and_the_day_is_rerun(world, tmp_path):
    late = _take_out_orders_loaded_on(world, DAY)
    before = published_state(world)

    score_days(world, [DAY], "run-d", lambda d: _scores_fall(world))
    _refused(world, "run-d")
    assert published_state(world) == before

    # The file lands a day later; the operator re-runs scoring and sync for the day.
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    pq.write_table(late, landing / "orders" / f"{DAY}_late.parquet")
    ingest_landing(world, landing, run_id="ingest-late", now=datetime(2027, 1, 1))
    score_days(world, [DAY], "run-d-again")
    [outcome] = publish(world, [DAY], "run-d-again")

    assert outcome.status == "applied" and outcome.scores_run_id == "run-d-again"
    assert rows(world, "select max(as_of_date) from risk.enforcement_sync_runs") == [(DAY,)]


def test_a_block_rate_collapsed_to_zero_refuses_the_day(world):
    before = published_state(world)

    checks = score_days(world, [DAY], "run-d", lambda d: _scores_fall(world))[DAY]
    refused = _refused(world, "run-d")

    block = next(r for r in checks if r.check == "band_rate.block")
    assert block.blocks and block.detail.startswith("collapsed: block 0 of 1000")
    assert [p for p in refused.problems if p.startswith("band_rate.block: collapsed")]
    assert not [r for r in checks if r.blocks and not r.check.startswith("band_rate")]  # the data was fine
    assert published_state(world) == before


def test_scores_without_recorded_checks_or_of_another_run_are_refused(world):
    from ml.score import store

    before = published_state(world)
    # Written straight into the table (no lease, no checks): e.g. a hand-run script.
    store.replace_scores(world, DAY, scores_frame(DAY, normal_bands(accounts(world)), "by-hand"))

    refused = _refused(world, "run-sync")

    assert any("written by run by-hand, not by this run" in p for p in refused.problems)
    assert any(p == "volume.orders: no recorded result" for p in refused.problems)
    assert published_state(world) == before


def test_an_override_publishes_a_refused_day_and_records_who_why_and_what(world):
    score_days(world, [DAY], "run-d", lambda d: _scores_fall(world))
    _refused(world, "run-d")

    reason = "incident 12: product confirmed the orders outage; scores reviewed by hand"
    [outcome] = publish(world, [DAY], "run-override", override=Override(reason=reason, by="oncall@vigil"))

    assert outcome.status == "applied" and outcome.scores_run_id == "run-d"
    [(by, why, what, scores_run)] = rows(
        world, "select overridden_by, reason, overridden_checks, scores_run_id from risk.publication_overrides"
    )
    assert (by, why, scores_run) == ("oncall@vigil", reason, "run-d")
    assert "band_rate.block: collapsed" in what and "written by run run-d, not by this run" in what
    history = rows(world, "select distinct change_reason from risk.enforcement_decisions where as_of_date = ?", [DAY])
    assert history and all(f"override by oncall@vigil: {reason}" in r for (r,) in history)
    # Even an override never lifts a block: the blocked accounts' scores fell, they stay blocked.
    blocked = rows(world, "select count(*) from risk.enforcement_sync where decision = 'block'")
    assert blocked == [(int(1000 * 0.02),)]
