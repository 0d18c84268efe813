"""The sync materialised on its own after scoring failed a check publishes nothing; an operator
override publishes the day and is recorded."""

import dagster as dg
import duckdb
import pytest

from tests.faults.world import DAY, dagster_resources, gated_registry, published_state, rows


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return gated_registry(tmp_path_factory.mktemp("registry"))


def test_the_sync_alone_after_a_failed_check_changes_nothing(world, registry, world_vocabulary):
    from orchestration.definitions import defs
    from orchestration.defs.scoring.assets import enforcement_sync

    with duckdb.connect(str(world.path)) as con:  # the day's orders file never arrived
        con.execute("delete from raw.orders where cast(_loaded_at as date) = ?", [DAY])
    instance, resources = dg.DagsterInstance.ephemeral(), dagster_resources(world, registry)
    before = published_state(world)

    scored = defs.resolve_job_def("score").execute_in_process(
        partition_key=str(DAY), resources=resources, instance=instance, raise_on_error=False
    )
    alone = dg.materialize(
        [enforcement_sync], partition_key=str(DAY), resources=resources, instance=instance, raise_on_error=False
    )

    data_check = next(c for c in scored.get_asset_check_evaluations() if c.check_name == "raw_data_complete")
    assert not data_check.passed and "volume.orders" in data_check.metadata["failures"].value
    materialized = {e.asset_key.to_user_string() for e in scored.get_asset_materialization_events()}
    assert "risk/account_risk_scores" in materialized and "risk/enforcement_sync" not in materialized
    assert not alone.success
    failure = next(e for e in alone.all_events if e.event_type_value == "STEP_FAILURE")
    assert f"{DAY} not published" in failure.event_specific_data.error.message
    assert published_state(world) == before

    reason = "orders file lost upstream; day reviewed by hand"
    override = {"override_reason": reason, "override_by": "oncall"}
    overridden = dg.materialize(
        [enforcement_sync],
        partition_key=str(DAY),
        resources=resources,
        instance=instance,
        run_config={"ops": {"risk__enforcement_sync": {"config": override}}},
    )

    assert overridden.success
    assert rows(world, "select max(as_of_date) from risk.enforcement_sync_runs") == [(DAY,)]
    [(by, why, what)] = rows(world, "select overridden_by, reason, overridden_checks from risk.publication_overrides")
    assert (by, why) == ("oncall", reason) and "volume.orders" in what
