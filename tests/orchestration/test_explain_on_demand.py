"""`python -m ml.score.explain` on what a whole `make pipeline` run built: the stored reasons of
flagged accounts, and for allow accounts (stored without reasons) what full scoring would give."""

import json
import subprocess
import sys

import duckdb
import pandas as pd

from ml.registry import ModelRegistry, local_tracking_uri
from ml.score.checks import BANDS
from ml.score.explain import EXPLAINED_COLUMNS
from ml.score.feature_rows import feature_frame
from ml.score.scoring import REASON_NAMES, score_accounts


def _frame(path, sql, params=()) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchdf()


def test_the_cli_explains_any_scored_account_as_scoring_would(pipeline_run):
    assert pipeline_run.completed.returncode == 0, pipeline_run.completed.stderr[-3000:]
    path = pipeline_run.data / "warehouse.duckdb"
    day = _frame(path, "select max(as_of_date) as d from risk.account_risk_scores")["d"][0].date()
    pick = "select * from risk.account_risk_scores where as_of_date = ? and {} order by score desc, account_id limit 5"
    flagged = _frame(path, pick.format("band <> 'allow'"), [day])
    allow = _frame(path, pick.format("band = 'allow'"), [day])  # the closest to review
    assert len(flagged) == len(allow) == 5
    assert flagged["reason_code_1"].notna().all() and allow[REASON_NAMES].isna().all().all()
    accounts = [*flagged["account_id"], *allow["account_id"]]

    completed = subprocess.run(
        [sys.executable, "-m", "ml.score.explain", "--account", *accounts, "--day", str(day), "--json"],
        env=pipeline_run.env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    explained = pd.DataFrame([json.loads(line) for line in completed.stdout.splitlines()])
    assert explained["account_id"].tolist() == accounts and list(explained.columns) == EXPLAINED_COLUMNS
    stored = pd.concat([flagged, allow], ignore_index=True)
    assert (explained["model_version"] == stored["model_version"]).all()
    assert (explained["score"] == stored["score"]).all() and (explained["band"] == stored["band"]).all()
    # Flagged: exactly the reasons scoring stored.
    assert explained[REASON_NAMES].head(5).to_numpy().tolist() == flagged[REASON_NAMES].to_numpy().tolist()
    # Allow: what scoring with reasons for every band gives from the same version and feature rows.
    registry = ModelRegistry(local_tracking_uri(pipeline_run.data))
    version = registry.load_version(str(allow["model_version"][0]))
    with duckdb.connect(str(path), read_only=True) as con:  # typed as scoring reads it: through Arrow
        sql = "select * from marts.fct_account_features_daily where as_of_date = ? and account_id in (select unnest(?))"
        features = feature_frame(con.sql(sql, params=[day, list(allow["account_id"])]).to_arrow_table())
    full = score_accounts(
        features,
        version.model,
        version.policy,
        model_name=version.name,
        model_version=version.version,
        feature_version="",
        scored_at=pd.Timestamp("2026-01-01").to_pydatetime(),
        run_id="",
        reason_bands=BANDS,
    ).set_index("account_id")
    expected = full.loc[allow["account_id"], REASON_NAMES].to_numpy().tolist()
    assert full["reason_code_1"].notna().all()
    assert explained[REASON_NAMES].tail(5).to_numpy().tolist() == expected
