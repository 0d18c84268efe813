"""A near-real-time batch on the pipeline's warehouse: a takeover-like burst of logins lands,
`near_real_time` ingests it, updates the tiles and appends intraday scores for exactly the
accounts it touched (and their linked accounts), with the batch's cut-off and trigger file,
and publishes only escalations to `review`, through its gate. A batch without new files scores nothing."""

import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

LAST_DAY = "2026-08-31"  # the pipeline's last day of data (tests/pipeline.py MEDIUM)


def _rows(path: Path, sql: str, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _takeover_logins(landing: Path, account: str) -> Path:
    """Six failed logins then a success from a new device and country, late on the last day."""
    folder = landing / "logins"
    folder.mkdir(parents=True)
    header = '"event_id","account_id","occurred_at","ip_hash","ip_country","device_id","success","_loaded_at"'
    lines = [header]
    for i in range(7):
        success = "true" if i == 6 else "false"
        lines.append(
            f'"lgn_nrt_{i:04d}","{account}","{LAST_DAY} 22:{10 + i}:00","ffff0000aaaa{i:04d}","KP",'
            f'"dev_nrt_attacker","{success}","{LAST_DAY} 22:{20 + i}:00"'
        )
    path = folder / "2026w36_nrt_c000.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


WARMUPS: list = []  # per batch: the thread its ingestion started and what it loaded (orchestration/lib/warmup.py)


def _recorded_warmup(load):
    from orchestration.lib.warmup import start_warmup

    loaded: list = []
    WARMUPS.append((start_warmup(lambda: loaded.append(load())), loaded))


@pytest.fixture(scope="module")
def batch(pipeline_run, tmp_path_factory):
    from orchestration.definitions import defs
    from orchestration.defs.ingestion import assets as ingestion_assets
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    assert pipeline_run.completed.returncode == 0, pipeline_run.completed.stderr[-3000:]
    root = tmp_path_factory.mktemp("near_real_time")
    data, landing = root / "data", root / "landing"
    shutil.copytree(pipeline_run.data, data, ignore=shutil.ignore_patterns("dagster_home"))
    path = data / "warehouse.duckdb"
    (account,) = _rows(
        path,
        "select account_id from marts.fct_account_features_daily where as_of_date = ? order by account_id limit 1",
        [LAST_DAY],
    )[0]
    sync_before = _rows(path, "select * from risk.enforcement_sync order by account_id")
    _takeover_logins(landing, account)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data))
        mp.setenv("VIGIL_LANDING_DIR", str(landing))
        mp.setenv("VIGIL_INGEST_SETTLE_SECONDS", "0")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        resources = {
            "warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(path)),
            "mlflow": MlflowResource(),
        }
        mp.setattr(ingestion_assets, "start_warmup", _recorded_warmup)
        job = defs.resolve_job_def("near_real_time")
        instance = dg.DagsterInstance.ephemeral()
        first = job.execute_in_process(instance=instance, resources=resources)
        again = job.execute_in_process(instance=instance, resources=resources)
    return path, account, sync_before, first, again


def test_a_batch_scores_the_accounts_its_files_touched(batch):
    path, account, _, first, _ = batch
    assert first.success
    rows = _rows(
        path,
        "select batch_id, account_id, as_of_date, band, features_ingested_through, trigger_files, feature_version"
        " from risk.intraday_scores",
    )
    assert {r[0] for r in rows} == {first.run_id}
    scored = {r[1] for r in rows}
    assert account in scored
    # Exactly the touched accounts: the account and those linked to it on the day.
    linked = {
        r[0]
        for r in _rows(
            path,
            "select linked_account_id from intermediate.int_account_links"
            " where account_id = ? and linked_from <= ? and linked_until > ?",
            [account, LAST_DAY, LAST_DAY],
        )
    }
    assert scored == {account} | linked
    assert {str(r[2]) for r in rows} == {LAST_DAY}
    assert {r[5] for r in rows} == {"logins/2026w36_nrt_c000.csv"}
    assert all(r[6].startswith("features@") for r in rows)
    # The cut-off covers the batch's ingestion.
    (ingested,) = _rows(path, "select max(_ingested_at) from raw.logins")[0]
    assert {r[4] for r in rows} == {ingested}


def test_the_intraday_vector_holds_the_new_logins(batch):
    path, account, _, _, _ = batch
    ((daily_failed, intraday_failed, daily_new, intraday_new),) = _rows(
        path,
        "select daily.failed_logins_1d, intraday.failed_logins_1d, daily.new_countries_1d, intraday.new_countries_1d"
        " from marts.fct_account_features_daily as daily"
        " inner join marts.fct_account_features_intraday as intraday using (account_id, as_of_date)"
        " where account_id = ? and as_of_date = ?",
        [account, LAST_DAY],
    )
    assert intraday_failed == daily_failed + 6
    assert intraday_new >= daily_new


def test_a_batch_only_escalates_through_its_gate(batch):
    path, _, sync_before, first, _ = batch
    (publication, escalated) = _rows(
        path, "select publication, escalated from risk.intraday_batches where batch_id = ?", [first.run_id]
    )[0]
    assert publication in ("published", "nothing to escalate"), publication
    checks = _rows(path, "select check_name, passed from risk.publication_checks where run_id = ?", [first.run_id])
    assert {"intraday.daily_current", "intraday.escalations_today"} <= {c[0] for c in checks}
    assert all(c[1] for c in checks)
    # What changed in the sync is exactly the batch's escalations: to review, from nothing above it.
    before = {row[1]: row for row in sync_before}
    after = {row[1]: row for row in _rows(path, "select * from risk.enforcement_sync order by account_id")}
    changed = {account for account, row in after.items() if before.get(account) != row}
    history = _rows(
        path,
        "select account_id, decision, coalesce(previous_decision, 'none'), source from risk.enforcement_decisions"
        " where run_id = ?",
        [first.run_id],
    )
    assert changed == {h[0] for h in history} and len(history) == escalated
    assert all(h[1] == "review" and h[2] in ("none", "removed") and h[3] == "intraday" for h in history)


def test_the_takeover_is_in_review_within_the_batch(batch):
    # The model may leave a hijacking login without orders at `allow`; the TAKEOVER_LOGIN rule does not.
    path, account, _, first, _ = batch
    (band, reason) = _rows(
        path,
        "select band, reason_code_1 from risk.intraday_scores where batch_id = ? and account_id = ?",
        [first.run_id, account],
    )[0]
    assert band in ("review", "block"), (band, reason)
    (decision,) = _rows(path, "select decision from risk.enforcement_sync where account_id = ?", [account])[0]
    assert decision in ("review", "block")


def test_a_batch_without_new_files_scores_nothing(batch):
    path, _, _, first, again = batch
    assert again.success
    assert _rows(path, "select count(*) from risk.intraday_scores where batch_id = ?", [again.run_id]) == [(0,)]
    assert _rows(path, "select count(distinct batch_id) from risk.intraday_scores") == [(1,)]
    # Both batches are on record, the empty one starting where the first stopped.
    batches = _rows(
        path, "select batch_id, since, cut_off, accounts_touched, accounts_scored from risk.intraday_batches order by 2"
    )
    assert [b[0] for b in batches] == [first.run_id, again.run_id]
    assert batches[1][1] == batches[0][2] and batches[1][3:] == (0, 0)
    assert batches[0][3] >= batches[0][4] > 0


def _dbt_folders(run_id: str, name: str) -> list[Path]:
    from orchestration.defs.dbt.project import DBT_PROJECT_DIR

    return sorted((DBT_PROJECT_DIR / "target").glob(f"{name}-{run_id[:7]}-*"))


def test_a_batch_runs_dbt_on_a_warm_parse_without_unit_tests(batch):
    import json

    _, _, _, first, again = batch
    (models_first,), (models_again,) = (
        _dbt_folders(first.run_id, "vigil_dbt_models"),
        _dbt_folders(again.run_id, "vigil_dbt_models"),
    )
    assert len(_dbt_folders(first.run_id, "intraday_features")) == 1
    # Each batch's ingestion imported the scoring step's libraries and loaded the champion in
    # the background: the one its scoring step then loaded again and scored with.
    assert len(WARMUPS) == 2 and not any(thread.is_alive() for thread, _ in WARMUPS)
    from orchestration.defs.live.assets import INTRADAY_KEY

    (scored,) = [
        event.materialization.metadata["model"].value
        for event in first.get_asset_materialization_events()
        if event.asset_key == INTRADAY_KEY
    ]
    assert [[f"{m.name} v{m.version}" for m in loaded] for _, loaded in WARMUPS] == [[scored], [scored]]
    # Its dbt commands ran in the run's own process (orchestration/defs/dbt/in_process.py).
    for folder in (models_first, *_dbt_folders(first.run_id, "intraday_features")):
        started = json.loads((folder / "dbt.log").read_text().splitlines()[0])
        assert started["info"]["name"] == "MainReportVersion" and started["info"]["pid"] == os.getpid()
    # The second batch's build starts from the parse the first one saved (same profile, same
    # vars): dbt does not parse the project again.
    assert "Unable to do partial parsing" not in (models_again / "dbt.log").read_text()
    for folder in (models_first, models_again):
        events = list(map(json.loads, (folder / "dbt.log").read_text().splitlines()))
        finished = [
            event["data"]["node_info"]["unique_id"]
            for event in events
            if event["info"]["name"].endswith("Result") and "node_info" in event["data"]
        ]
        kinds = {unique_id.split(".")[0] for unique_id in finished}
        assert "test" in kinds and "model" in kinds
        assert "unit_test" not in kinds
        # The relationship warnings are the daily run's; dbt.log keeps no debug line.
        assert not [unique_id for unique_id in finished if ".relationships_" in unique_id]
        assert "debug" not in {event["info"]["level"] for event in events}
        # A batch's commands write no manifest or run results (dbt.log records the nodes).
        assert not (folder / "run_results.json").exists() and not (folder / "manifest.json").exists()
        # Nor the feature families (ephemeral): the intraday step compiles them into its model.
        assert not list((folder / "compiled").rglob("int_features_*.sql"))
    (intraday,) = _dbt_folders(first.run_id, "intraday_features")
    assert list((intraday / "compiled").rglob("int_features_joined.sql"))
