"""A model feature that stops arriving (all zeros, all null) refuses the day: the scoring run
records `features_arriving` as an error with the gate's checks, and the sync applies nothing."""

import dagster as dg
import duckdb
import pytest

from ml.score.publish import PublicationRefusedError
from tests.faults.world import (
    DAY,
    dagster_resources,
    gated_registry,
    publish,
    published_state,
    rows,
    score_days,
)


def _kill_feature(world, column: str, value: str = "0") -> None:
    """The day's feature rows arrive with `column` at one value, as after a broken upstream join."""
    with duckdb.connect(str(world.path)) as con:
        con.execute(f"update marts.fct_account_features_daily set {column} = {value} where as_of_date = ?", [DAY])


@pytest.mark.parametrize("value", ["0", "null"])
def test_a_feature_that_stopped_arriving_refuses_the_day_and_applies_nothing(published_world, value):
    world = published_world
    _kill_feature(world, "signal", value)
    before = published_state(world)

    checks = score_days(world, [DAY], "run-dead")[DAY]
    with pytest.raises(PublicationRefusedError) as refused:
        publish(world, [DAY], "run-dead")

    arriving = next(r for r in checks if r.check == "features_arriving")
    assert arriving.blocks and "signal: all 1000 values" in arriving.detail
    assert any(p.startswith("features_arriving: 1 model feature(s) stopped arriving") for p in refused.value.problems)
    assert published_state(world) == before
    recorded = "select passed, severity from risk.publication_checks where as_of_date = ? and check_name = ?"
    assert rows(world, recorded, [DAY, "features_arriving"]) == [(False, "error")]


def test_the_same_day_with_the_feature_back_publishes(published_world):
    world = published_world
    score_days(world, [DAY], "run-alive")

    assert [o.status for o in publish(world, [DAY], "run-alive")] == ["applied"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return gated_registry(tmp_path_factory.mktemp("registry"), with_reference=True)


def test_the_scoring_job_fails_features_arriving_and_its_sync_never_runs(published_world, registry, world_vocabulary):
    from orchestration.defs.scoring.assets import account_risk_scores, enforcement_sync

    world = published_world
    _kill_feature(world, "signal")
    before = published_state(world)

    result = dg.materialize(
        [account_risk_scores, enforcement_sync],
        partition_key=str(DAY),
        resources=dagster_resources(world, registry),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not evaluations["features_arriving"].passed
    assert evaluations["features_arriving"].severity == dg.AssetCheckSeverity.ERROR
    assert "signal" in evaluations["features_arriving"].metadata["failures"].value
    assert not evaluations["feature_drift"].passed  # signal's PSI is huge too, and shown
    assert published_state(world) == before
    # Materialized alone afterwards, the sync reads the recorded failure and refuses the day.
    with pytest.raises(PublicationRefusedError, match="features_arriving"):
        publish(world, [DAY], result.run_id)
