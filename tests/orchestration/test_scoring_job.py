"""Scoring and the enforcement sync, on what a whole `make pipeline` run built."""

import shutil

import dagster as dg
import duckdb
import pytest

SCORE_COLUMNS_THAT_MAY_CHANGE = {"scored_at", "run_id"}


@pytest.fixture(scope="module")
def warehouse_file(pipeline_run):
    assert pipeline_run.completed.returncode == 0, (
        pipeline_run.completed.stdout[-3000:] + pipeline_run.completed.stderr[-3000:]
    )
    return pipeline_run.data / "warehouse.duckdb"


def _rows(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_demo_scores_every_account_of_its_days_with_the_champion(warehouse_file, pipeline_run):
    per_day = _rows(
        warehouse_file,
        "select s.as_of_date, count(*), count(distinct s.account_id), max(f.n), min(s.score), max(s.score),"
        " count(distinct s.model_version)"
        " from risk.account_risk_scores as s"
        " join (select as_of_date, count(*) as n from marts.fct_account_features_daily group by 1) as f"
        " using (as_of_date) group by 1 order by 1",
    )
    assert len(per_day) == 7
    for day, rows, accounts, features, low, high, versions in per_day:
        assert rows == accounts == features, day
        assert 0 <= low <= high <= 1 and versions == 1
    bands = dict(_rows(warehouse_file, "select band, count(*) from risk.account_risk_scores group by 1"))
    assert set(bands) <= {"allow", "review", "block"} and bands.get("block", 0) + bands.get("review", 0) > 0
    assert "examples from the sync table" in pipeline_run.completed.stdout


def test_flagged_accounts_carry_readable_reasons(warehouse_file):
    flagged = _rows(
        warehouse_file,
        "select reason_code_1, reason_text_1, reason_code_2 from risk.account_risk_scores where band <> 'allow'",
    )
    assert flagged and all(code and text for code, text, _ in flagged)
    assert all(second != first for first, _, second in flagged)
    assert not any("nan" in text.lower().split() for _, text, _ in flagged)


def test_the_sync_table_holds_one_current_row_per_scored_account(warehouse_file):
    keys, distinct = _rows(warehouse_file, "select count(*), count(distinct sync_key) from risk.enforcement_sync")[0]
    scored = _rows(warehouse_file, "select count(distinct account_id) from risk.account_risk_scores")[0][0]
    assert keys == distinct and keys >= scored * 0.9
    live_last_day = _rows(
        warehouse_file,
        "select count(*) from risk.enforcement_sync where not is_tombstone",
    )[0][0]
    last_day_scored = _rows(
        warehouse_file,
        "select count(*) from risk.account_risk_scores"
        " where as_of_date = (select max(as_of_date) from risk.account_risk_scores)",
    )[0][0]
    assert live_last_day == last_day_scored
    changes = _rows(warehouse_file, "select count(*) from risk.enforcement_decisions")[0][0]
    assert changes >= keys  # every row's current decision was recorded in the history


def test_every_scored_day_passed_the_recorded_gate_and_was_published_by_the_run_that_scored_it(warehouse_file):
    from ml.monitor.drift import FEATURE_DRIFT_CHECK, SCORE_DRIFT_CHECK
    from ml.score.publication import REQUIRED_CHECKS

    recorded = {*REQUIRED_CHECKS, FEATURE_DRIFT_CHECK, SCORE_DRIFT_CHECK}  # drift: recorded, never required

    per_day = _rows(
        warehouse_file,
        "select c.as_of_date, count(distinct c.check_name),"
        " sum(case when not c.passed and c.severity = 'error' then 1 else 0 end),"
        " max(r.scores_run_id), max(s.run_id)"
        " from risk.publication_checks as c"
        " join risk.enforcement_sync_runs as r on r.as_of_date = c.as_of_date and r.scores_run_id = c.run_id"
        " join (select distinct as_of_date, run_id from risk.account_risk_scores) as s"
        " on s.as_of_date = c.as_of_date and s.run_id = c.run_id"
        " group by 1 order by 1",
    )
    assert len(per_day) == 7
    for day, checks, failed, published_from, scored_by in per_day:
        assert checks == len(recorded) and failed == 0, day
        assert published_from == scored_by, day
    assert _rows(warehouse_file, "select count(*) from risk.publication_overrides") == [(0,)]
    assert _rows(warehouse_file, "select count(*) from risk.day_leases") == [(0,)]


def test_rescoring_and_resyncing_a_day_changes_nothing(pipeline_run, tmp_path, monkeypatch):
    from orchestration.definitions import defs
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    data = tmp_path / "data"
    shutil.copytree(pipeline_run.data, data)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    path = data / "warehouse.duckdb"
    day = str(_rows(path, "select max(as_of_date) from risk.account_risk_scores")[0][0])
    columns = [
        c
        for (c,) in _rows(
            path, "select column_name from information_schema.columns where table_name = 'account_risk_scores'"
        )
    ]
    stable = ", ".join(c for c in columns if c not in SCORE_COLUMNS_THAT_MAY_CHANGE)
    scores_before = _rows(path, f"select {stable} from risk.account_risk_scores order by as_of_date, account_id")
    sync_before = _rows(path, "select * from risk.enforcement_sync order by sync_key")
    history_before = _rows(path, "select count(*) from risk.enforcement_decisions")

    result = defs.resolve_job_def("score").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(path)), "mlflow": MlflowResource()},
        partition_key=day,
    )

    assert result.success
    assert (
        _rows(path, f"select {stable} from risk.account_risk_scores order by as_of_date, account_id") == scores_before
    )
    assert _rows(path, "select * from risk.enforcement_sync order by sync_key") == sync_before
    assert _rows(path, "select count(*) from risk.enforcement_decisions") == history_before
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert (
        checks["population_matches_features"] and checks["no_missing_scores"] and checks["scores_within_unit_interval"]
    )
    assert checks["raw_data_complete"] and checks["band_rates_stable"] and checks["scores_of_run"]


def test_the_daily_job_ingests_builds_scores_and_syncs_a_day(pipeline_run, tmp_path, monkeypatch):
    """What `daily_schedule` launches: one partitioned run of ingest -> dbt -> features -> scores -> sync."""
    from orchestration.definitions import defs
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    data = tmp_path / "data"
    shutil.copytree(pipeline_run.data, data)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIL_LANDING_DIR", str(pipeline_run.landing))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    path = data / "warehouse.duckdb"
    day = str(_rows(path, "select max(as_of_date) from marts.fct_account_features_daily")[0][0])

    result = defs.resolve_job_def("daily").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(path)), "mlflow": MlflowResource()},
        partition_key=day,
    )

    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"ingest/file_ledger", "marts/fct_account_features_daily", "risk/account_risk_scores"} <= materialized
    assert "risk/enforcement_sync" in materialized
    applied = _rows(path, "select max(as_of_date), count(*) from risk.enforcement_sync_runs")[0]
    assert str(applied[0]) == day


def test_the_daily_ring_rule_reviews_the_rings_the_model_allows_and_the_sync_says_so(warehouse_file):
    # Rows of the mart the rule matches (`ml.score.rules.RING_SIGNUPS`), with their band and first reason.
    matched = _rows(
        warehouse_file,
        "select s.band, s.reason_code_1 from risk.account_risk_scores as s"
        " join marts.fct_account_features_daily as f using (account_id, as_of_date)"
        " where f.linked_created_within_7d >= 3 and f.linked_group_id is not null",
    )
    assert matched, "the small simulation has rings signed up together in its scored days"
    assert all(band in ("review", "block") for band, _ in matched)
    assert any(code == "RING_SIGNUPS" for _, code in matched)  # the model alone allows some of them
    unmatched = _rows(
        warehouse_file,
        "select count(*) from risk.account_risk_scores as s"
        " join marts.fct_account_features_daily as f using (account_id, as_of_date)"
        " where s.reason_code_1 = 'RING_SIGNUPS'"
        " and not (f.linked_created_within_7d >= 3 and f.linked_group_id is not null)",
    )[0][0]
    assert unmatched == 0
    reasons = _rows(
        warehouse_file,
        "select distinct change_reason from risk.enforcement_decisions as d"
        " join risk.account_risk_scores as s using (account_id, as_of_date)"
        " where s.reason_code_1 = 'RING_SIGNUPS' and d.decision = 'review'",
    )
    assert reasons and {r for (r,) in reasons} <= {"rule RING_SIGNUPS (model band allow)"}
