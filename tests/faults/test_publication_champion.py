"""Scoring verifies the champion before it writes anything: an alias moved by hand to a
version the promotion gate never passed stops the run, and the scores stay as they were."""

import dagster as dg
import pytest

from ml.registry import CHAMPION
from tests.faults.world import DAY, dagster_resources, gated_registry, rows


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return gated_registry(tmp_path_factory.mktemp("registry"))


def _score(world, registry):
    from orchestration.defs.scoring.assets import account_risk_scores

    return dg.materialize(
        [account_risk_scores],
        partition_key=str(DAY),
        resources=dagster_resources(world, registry),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _written(world) -> dict[str, list[tuple]]:
    return {
        "scores": rows(world, "select * from risk.account_risk_scores order by as_of_date, account_id"),
        "checks": rows(world, "select * from risk.publication_checks order by as_of_date, run_id, check_name"),
        "leases": rows(world, "select * from risk.day_leases"),
    }


def test_the_gated_champion_scores_the_day(world, registry, world_vocabulary):
    result = _score(world, registry)

    assert result.success
    assert rows(world, "select count(*), min(model_version) from risk.account_risk_scores where as_of_date = ?", [DAY])[
        0
    ] == (1000, "1")


def test_a_champion_moved_to_an_ungated_version_fails_before_writing_anything(
    published_world, registry, world_vocabulary
):
    world = published_world
    before = _written(world)
    registry.client.set_registered_model_alias(registry.model_name, CHAMPION, "2")  # by hand, no gate
    try:
        result = _score(world, registry)
    finally:
        registry.client.set_registered_model_alias(registry.model_name, CHAMPION, "1")

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "v2 carries no gate pass" in failure.event_specific_data.error.message
    assert _written(world) == before
