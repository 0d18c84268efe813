"""Reasons on demand: `explain` gives exactly the reasons scoring gives, from the stored row's
model version and feature row, and refuses when it cannot reproduce the stored score."""

import json
import shutil
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from ml.registry import ModelRegistry, local_tracking_uri
from ml.score import store
from ml.score.checks import BANDS
from ml.score.explain import EXPLAINED_COLUMNS, CannotExplain, explain_accounts, explain_scored, main
from ml.score.rules import SHILL_RING_MEMBERS
from ml.score.schema import RISK_SCHEMA, SCORES_TABLE
from ml.score.scoring import REASON_NAMES, score_accounts
from ml.warehouse.duckdb_engine import DuckDBWarehouse
from tests.ml.synthetic_scoring import DAY, feature_rows, policy_flagging, train_small_model

SCORED_AT = datetime(2026, 10, 1, 6, tzinfo=UTC).replace(tzinfo=None)


def _meta(version: str) -> dict:
    return dict(
        model_name="vigil_account_risk",
        model_version=version,
        feature_version="fct@abc",
        scored_at=SCORED_AT,
        run_id="run-1",
    )


def _registry(data) -> ModelRegistry:
    return ModelRegistry(local_tracking_uri(data), data / "mlflow" / "artifacts")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A data folder as the daily job leaves it: the mart's day, its scores by version 1, and
    then a newer version 2 promoted to champion (explaining must still use version 1)."""
    data = tmp_path_factory.mktemp("explain") / "data"
    features = feature_rows(1500, seed=1).drop(columns="is_bad")
    # A shill ring: one member bids on its linked seller's shows, five others do not.
    features.loc[:5, "linked_group_id"] = "ring_1"
    features.loc[:5, "bids_on_linked_sellers_30d"] = [9, 0, 0, 0, 0, 0]
    first, second = train_small_model(seed=7), train_small_model(seed=8)
    policy = policy_flagging(first, features, review_share=0.05, block_share=0.02)
    registry = _registry(data)
    with registry.run(run_name="v1"):
        registry.log_model(first, policy, features.head(5))
    registry.promote("1", {"reason": "test"})

    path = data / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.register("rows", features)
        con.execute(
            "create table marts.fct_account_features_daily as"
            " select * replace (cast(as_of_date as date) as as_of_date) from rows"
        )
    warehouse = DuckDBWarehouse(path)
    champion = registry.load("champion")
    day_features = store.read_features(warehouse, DAY)
    scores = score_accounts(day_features, champion.model, champion.policy, **_meta(champion.version))
    store.prepare(warehouse)
    store.replace_scores(warehouse, DAY, scores)

    with registry.run(run_name="v2"):
        registry.log_model(second, policy_flagging(second, features, 0.05, 0.02), features.head(5))
    registry.promote("2", {"reason": "test"})
    return {"data": data, "path": path, "features": day_features, "scores": scores, "policy": policy, "first": first}


def _copy(scored, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(scored["data"], data)
    return data, DuckDBWarehouse(data / "warehouse.duckdb")


def _explain(scored, accounts: list[str]) -> pd.DataFrame:
    return explain_scored(DuckDBWarehouse(scored["path"], read_only=True), _registry(scored["data"]), DAY, accounts)


def _accounts(scored, flagged: bool, n: int = 12) -> list[str]:
    scores = scored["scores"]
    chosen = scores[(scores["band"] != "allow") == flagged]
    assert len(chosen) >= n
    return chosen["account_id"].head(n).tolist()


def test_explaining_rows_gives_what_scoring_every_account_with_reasons_gives(scored):
    model, policy, features = scored["first"], scored["policy"], scored["features"]
    everyone = score_accounts(features, model, policy, **_meta("1"), reason_bands=BANDS)
    explained = explain_accounts(features, model, policy)
    columns = ["account_id", "as_of_date", "score", "band", *REASON_NAMES]
    pd.testing.assert_frame_equal(explained[columns], everyone[columns])


def test_flagged_accounts_are_explained_with_exactly_the_stored_reasons(scored):
    accounts = _accounts(scored, flagged=True)
    explained = _explain(scored, accounts)

    stored = scored["scores"].set_index("account_id").loc[accounts].reset_index()
    assert stored["reason_code_1"].notna().all()
    assert list(explained.columns) == EXPLAINED_COLUMNS and explained["account_id"].tolist() == accounts
    pd.testing.assert_frame_equal(explained, stored[EXPLAINED_COLUMNS])


def test_allow_accounts_are_explained_as_full_scoring_would_have_explained_them(scored):
    accounts = _accounts(scored, flagged=False)
    explained = _explain(scored, accounts)

    stored = scored["scores"].set_index("account_id").loc[accounts]
    assert stored[REASON_NAMES].isna().all().all()  # nothing stored for allow rows...
    features = scored["features"].set_index("account_id").loc[accounts].reset_index()
    everyone = score_accounts(features, scored["first"], scored["policy"], **_meta("1"), reason_bands=BANDS)
    assert everyone["reason_code_1"].notna().all()  # ...but they have reasons
    pd.testing.assert_frame_equal(explained, everyone[EXPLAINED_COLUMNS])


def test_the_version_on_the_score_row_explains_it_not_the_current_champion(scored):
    registry = _registry(scored["data"])
    assert registry.version_of("champion") == "2"
    accounts = _accounts(scored, flagged=False, n=3) + _accounts(scored, flagged=True, n=3)
    explained = explain_scored(DuckDBWarehouse(scored["path"], read_only=True), registry, DAY, accounts)
    assert set(explained["model_version"]) == {"1"}
    # The champion would explain (and score) these rows differently.
    champion = registry.load("champion")
    features = scored["features"].set_index("account_id").loc[accounts].reset_index()
    by_champion = explain_accounts(features, champion.model, champion.policy)
    assert not by_champion["score"].equals(explained["score"])


def test_a_feature_row_changed_since_scoring_is_refused(scored, tmp_path):
    data, warehouse = _copy(scored, tmp_path)
    account = _accounts(scored, flagged=False, n=1)[0]
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute(
            "update marts.fct_account_features_daily set failed_logins_7d = 60, cards_added_7d = 40,"
            " linked_actioned_accounts = 30, new_devices_7d = 30 where account_id = ?",
            [account],
        )
    with pytest.raises(CannotExplain, match="score differently from their stored score row"):
        explain_scored(warehouse, _registry(data), DAY, [account])


def test_stored_reasons_that_cannot_be_reproduced_are_refused(scored, tmp_path):
    data, warehouse = _copy(scored, tmp_path)
    account = _accounts(scored, flagged=True, n=1)[0]
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute(
            f"update {RISK_SCHEMA}.{SCORES_TABLE} set reason_text_2 = 'something else' where account_id = ?", [account]
        )
    with pytest.raises(CannotExplain, match="stored reasons that differ"):
        explain_scored(warehouse, _registry(data), DAY, [account])


def test_accounts_without_a_score_feature_row_or_known_version_are_refused(scored, tmp_path):
    data, warehouse = _copy(scored, tmp_path)
    registry = _registry(data)
    allow = _accounts(scored, flagged=False, n=3)
    with pytest.raises(CannotExplain, match=r"1 accounts have no stored score on 2026-09-30: \['nobody'\]"):
        explain_scored(warehouse, registry, DAY, [allow[0], "nobody"])
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("delete from marts.fct_account_features_daily where account_id = ?", [allow[1]])
        con.execute(f"update {RISK_SCHEMA}.{SCORES_TABLE} set model_version = '9' where account_id = ?", [allow[2]])
    with pytest.raises(CannotExplain, match="no row in marts.fct_account_features_daily"):
        explain_scored(warehouse, registry, DAY, [allow[1]])
    with pytest.raises(CannotExplain, match="version 9 is not in the registry"):
        explain_scored(warehouse, registry, DAY, [allow[2]])
    with pytest.raises(ValueError, match="no accounts"):
        explain_scored(warehouse, registry, DAY, [])


def test_the_cli_prints_the_reasons_and_json_round_trips(scored, monkeypatch, capsys):
    monkeypatch.setenv("VIGIL_DATA_DIR", str(scored["data"]))
    for var in ("VIGIL_DUCKDB_PATH", "VIGIL_WAREHOUSE", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    allow = _accounts(scored, flagged=False, n=2)
    expected = _explain(scored, allow)

    assert main(["--account", *allow, "--day", str(DAY)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{allow[0]} on 2026-09-30: score ") and "(allow), vigil_account_risk v1" in text
    assert f"  1. {expected.loc[0, 'reason_code_1']}: {expected.loc[0, 'reason_text_1']}\n" in text

    assert main(["--account", allow[1], "--day", str(DAY), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["account_id"] == allow[1] and record["model_version"] == "1" and record["as_of_date"] == "2026-09-30"
    assert [record[name] for name in REASON_NAMES] == expected.loc[1, REASON_NAMES].tolist()
    assert record["score"] == expected.loc[1, "score"]

    assert main(["--account", "nobody", "--day", str(DAY)]) == 1
    assert "cannot explain: 1 accounts have no stored score" in capsys.readouterr().err


def test_a_ring_member_reviewed_for_its_group_is_explained_from_its_mates_rows(scored):
    scores = scored["scores"].set_index("account_id")
    members = scores.index[scores["reason_code_1"] == SHILL_RING_MEMBERS.code].tolist()
    assert members  # the fixture's ring: members the model allows join the shill's review
    explained = _explain(scored, members[:2])

    stored = scores.loc[members[:2]].reset_index()
    pd.testing.assert_frame_equal(explained, stored[EXPLAINED_COLUMNS])
    assert (explained["band"] == "review").all()
    # Its own row alone does not say it: the group rule reads the mates' rows of the day.
    alone = scored["features"].set_index("account_id").loc[members[:1]].reset_index()
    assert (explain_accounts(alone, scored["first"], scored["policy"])["band"] == "allow").all()
