import duckdb
import pytest

from ml.contract import TABLES


@pytest.fixture(scope="module")
def built_duckdb(full_build_duckdb):
    return full_build_duckdb


def test_dbt_build_and_tests_pass_on_simulated_data(built_duckdb):
    _, done, statuses = built_duckdb
    assert done.returncode == 0, done.stdout[-5000:]
    assert not [uid for uid, status in statuses.items() if status in ("error", "fail")]
    assert sum(uid.startswith("test.") for uid in statuses) >= 30


@pytest.mark.parametrize("table", list(TABLES))
def test_staging_keeps_exactly_one_row_per_id_the_newest_version(built_duckdb, table):
    path, _, _ = built_duckdb
    pk = TABLES[table].primary_key
    stg_pk = {"event_id": "login_id"}.get(pk, pk)
    with duckdb.connect(str(path), read_only=True) as con:
        distinct_ids, staged = con.execute(
            f"select (select count(distinct {pk}) from raw.{table}),"
            f" (select count(*) from staging.stg_marketplace__{table})"
        ).fetchone()
        stale = con.execute(
            f"select count(*) from staging.stg_marketplace__{table} as s"
            f" join raw.{table} as r on r.{pk} = s.{stg_pk} and r._loaded_at > s.loaded_at"
        ).fetchone()[0]
    assert staged == distinct_ids
    assert stale == 0


def test_quarantined_rows_are_visible_to_analysts(built_duckdb):
    path, _, _ = built_duckdb
    with duckdb.connect(str(path), read_only=True) as con:
        reasons = dict(
            con.execute(
                "select primary_reason, count(*) from staging.stg_ingest__quarantined_rows group by 1"
            ).fetchall()
        )
    assert sum(reasons.values()) > 0
    assert any(r.startswith("unparseable") for r in reasons)
