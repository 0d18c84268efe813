import duckdb

from ml.contract import TABLES


def test_the_jobs_materialize_ingestion_dbt_features_and_labels_in_process(small_simulation, vigil_env, monkeypatch):
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.lib.resources import WarehouseResource

    monkeypatch.setenv("VIGIL_LANDING_DIR", str(small_simulation["landing"]))
    resources = {"warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(vigil_env / "warehouse.duckdb"))}
    instance = dg.DagsterInstance.ephemeral()

    staged = defs.resolve_job_def("ingest_and_stage").execute_in_process(instance=instance, resources=resources)
    # A backfill range of as-of days runs as one dbt invocation (partition range tags).
    features = defs.resolve_job_def("features_daily").execute_in_process(
        instance=instance,
        resources=resources,
        tags={"dagster/asset_partition_range_start": "2026-02-01", "dagster/asset_partition_range_end": "2026-02-03"},
    )
    labels = defs.resolve_job_def("labels").execute_in_process(instance=instance, resources=resources)

    assert staged.success and features.success and labels.success
    materialized = {e.asset_key.to_user_string() for e in staged.get_asset_materialization_events()}
    assert {f"staging/stg_marketplace__{t}" for t in TABLES} <= materialized
    failed = [
        c.check_name
        for r in (staged, features, labels)
        for c in r.get_asset_check_evaluations()
        if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed == []
    # Every dbt test of the features and the labels ran, each with its own model's build.
    graph = defs.resolve_asset_graph()
    for run, model in ((features, "fct_account_features_daily"), (labels, "fct_account_labels_daily")):
        [key] = [k for k in graph.get_all_asset_keys() if k.path[-1] == model]
        expected = {k.name for k in graph.asset_check_keys if k.asset_key == key}
        evaluated = {c.check_name for c in run.get_asset_check_evaluations() if c.asset_key == key}
        assert expected and evaluated == expected
    assert "assert_labels_cover_every_feature_snapshot" in {c.check_name for c in labels.get_asset_check_evaluations()}
    with duckdb.connect(str(vigil_env / "warehouse.duckdb"), read_only=True) as con:
        loaded, quarantined, in_files = con.execute(
            "select sum(rows_loaded), sum(rows_quarantined), sum(rows_in_file) from ingest.file_ledger"
        ).fetchone()
        assert loaded + quarantined == in_files
        assert quarantined > 0  # the simulator writes dirty rows by default
        stg_orders, distinct_orders, raw_orders = con.execute(
            "select (select count(*) from staging.stg_marketplace__orders),"
            " (select count(distinct order_id) from raw.orders), (select count(*) from raw.orders)"
        ).fetchone()
        assert stg_orders == distinct_orders < raw_orders  # order versions collapse to the latest
        days = con.execute("select distinct as_of_date from marts.fct_account_features_daily order by 1").fetchall()
        assert [str(d[0]) for d in days] == ["2026-02-01", "2026-02-02", "2026-02-03"]
        assert con.execute("select count(*) from marts.fct_account_labels_daily").fetchone()[0] > 0


def test_make_pipeline_runs_on_an_existing_landing_folder(pipeline_run):
    """The README's `VIGIL_LANDING_DIR=... make pipeline` path, minus make itself."""
    done = pipeline_run.completed

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Vigil pipeline succeeded" in done.stdout
    assert not (pipeline_run.data / "landing").exists()  # nothing was simulated
    with duckdb.connect(str(pipeline_run.data / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from staging.stg_marketplace__accounts").fetchone()[0] > 0
    assert "champion v1" in done.stdout  # the summary names the promoted model
