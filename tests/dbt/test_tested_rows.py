"""Data tests of staging and intermediate read the rows written since they last passed
(dbt_project/macros/tested_rows.sql), so a day's build does not re-test all of history; a bad
row is still caught by the build that writes it, and keeps failing until it is fixed."""

from __future__ import annotations

import duckdb
import pytest

from tests.dbt.conftest import failing_rows, run_dbt, run_results

LOGINS = ["build", "--select", "stg_marketplace__logins", "--exclude", "test_type:unit"]
# One test per model checks its column rules: not null, accepted values, unique key
# (tests/generic/test_column_values.sql).
COLUMNS = "test.vigil.column_values_stg_marketplace__logins_"
KNOWN_ACCOUNT = "test.vigil.relationships_stg_marketplace__logins_account_id"
AUDIT = ["--vars", "{test_all_rows: true}"]
FIRST_LOGIN = "login_id = (select min(login_id) from staging.stg_marketplace__logins)"


def _raw_login(con, event_id: str, account_id: str | None, occurred_at: str | None, ingested_at: str) -> None:
    con.execute(
        "insert into raw.logins values (?, ?, cast(? as timestamp), 'ip', 'US', 'dev', true,"
        " timestamp '2026-09-01', 'late/extra.csv', 1, cast(? as timestamp))",
        [event_id, account_id, occurred_at, ingested_at],
    )


def _status(tmp_path, prefix: str) -> str:
    (status,) = [s for test, s in run_results(tmp_path).items() if test.startswith(prefix)]
    return status


@pytest.fixture
def built(full_build_copy):
    """A copy of the small simulation built with every test: every staging test has its mark."""
    return full_build_copy, {"VIGIL_DUCKDB_PATH": str(full_build_copy), "VIGIL_DBT_TARGET": "local"}


def test_a_passing_test_is_marked_at_its_models_newest_ingestion(built):
    path, _ = built
    with duckdb.connect(str(path), read_only=True) as con:
        marks = con.execute(
            "select test_id, tested_through from staging.dbt_test_marks"
            " where model_relation like '%stg_marketplace__logins%'"
        ).fetchall()
        (newest,) = con.execute("select max(ingested_at) from staging.stg_marketplace__logins").fetchone()
        (tiles,) = con.execute(
            "select count(distinct test_id) from staging.dbt_test_marks where model_relation like '%int_logins_daily%'"
        ).fetchone()
    # the column rules (with the key) and the relationship: each has its mark
    assert len(marks) == 2 and {through for _, through in marks} == {newest}
    assert tiles == 1  # the tiles' one test is marked by their `_ingested_through`


def test_a_new_bad_row_fails_the_build_until_fixed_and_old_rows_are_not_read_again(built, tmp_path):
    path, env = built
    with duckdb.connect(str(path)) as con:
        # A row tested already, broken by hand: the next build's tests do not read it again.
        con.execute(f"update staging.stg_marketplace__logins set occurred_at = null where {FIRST_LOGIN}")
        _raw_login(con, "late_unknown_account", "acc_999999", "2026-09-01 10:00:00", "2027-02-01")

    first = run_dbt(LOGINS, tmp_path, env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert _status(tmp_path, KNOWN_ACCOUNT) == "warn"  # the new row's unknown account, once
    assert _status(tmp_path, COLUMNS) == "pass"
    again = run_dbt(LOGINS, tmp_path, env)
    assert again.returncode == 0 and _status(tmp_path, KNOWN_ACCOUNT) == "pass"
    audit = run_dbt([*LOGINS, *AUDIT], tmp_path, env)  # all history: the old broken row
    assert audit.returncode != 0 and _status(tmp_path, COLUMNS) == "fail"

    with duckdb.connect(str(path)) as con:
        _raw_login(con, "late_without_time", "acc_000001", None, "2027-02-02")
    caught = run_dbt(LOGINS, tmp_path, env)
    still = run_dbt(LOGINS, tmp_path, env)  # its mark did not move: the row is read again
    assert caught.returncode != 0 and "column_values_stg_marketplace__logins" in caught.stdout
    assert failing_rows(path, tmp_path, COLUMNS) == [("occurred_at", "null", 1)]  # which column, rule, how many
    assert still.returncode != 0 and _status(tmp_path, COLUMNS) == "fail"

    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw.logins where event_id = 'late_without_time'")  # the producer's fix
    rebuilt = run_dbt([*LOGINS, "--full-refresh"], tmp_path, env)  # from raw: the old row is whole again
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    with duckdb.connect(str(path), read_only=True) as con:
        (through,) = con.execute(
            f"select tested_through from staging.dbt_test_marks where test_id like '{COLUMNS}%'"
        ).fetchone()
        (newest,) = con.execute("select max(ingested_at) from staging.stg_marketplace__logins").fetchone()
    assert through == newest


def test_a_key_test_reads_the_old_rows_a_new_row_duplicates(built, tmp_path):
    path, env = built
    with duckdb.connect(str(path)) as con:
        # A merge gone wrong: an old login written again as a new row beside the stored one.
        con.execute(
            "insert into staging.stg_marketplace__logins select * replace (timestamp '2027-03-01' as ingested_at)"
            f" from staging.stg_marketplace__logins where {FIRST_LOGIN}"
        )
    done = run_dbt(["test", "--select", "stg_marketplace__logins", "--exclude", "test_type:unit"], tmp_path, env)
    assert done.returncode != 0 and _status(tmp_path, COLUMNS) == "fail"
    assert failing_rows(path, tmp_path, COLUMNS) == [("login_id", "duplicated key", 1)]  # one key, twice


def test_a_new_row_outside_the_accepted_values_fails_its_models_column_rules(built, tmp_path):
    path, env = built
    with duckdb.connect(str(path)) as con:
        # A re-sent login that changed after it was staged (the incremental model flags it).
        con.execute(
            "insert into staging.stg_marketplace__logins select * replace ('resent_login' as login_id,"
            " true as is_changed_by_resend, timestamp '2027-03-01' as ingested_at) from staging.stg_marketplace__logins"
            f" where {FIRST_LOGIN}"
        )
    done = run_dbt(["test", "--select", "stg_marketplace__logins", "--exclude", "test_type:unit"], tmp_path, env)

    assert done.returncode != 0 and _status(tmp_path, COLUMNS) == "fail"
    assert failing_rows(path, tmp_path, COLUMNS) == [("is_changed_by_resend", "not an accepted value", 1)]


def test_a_model_built_from_scratch_is_tested_whole(built, tmp_path):
    path, env = built
    with duckdb.connect(str(path)) as con:
        # A bad raw row from the first ingestion, at or before every mark: only a build from
        # scratch stages it, and only a test that forgot its mark reads it.
        (first,) = con.execute("select min(_ingested_at) from raw.logins").fetchone()
        _raw_login(con, "early_without_time", "acc_000001", None, str(first))
        con.execute("drop table staging.stg_marketplace__logins")

    done = run_dbt(LOGINS, tmp_path, env)

    assert done.returncode != 0 and _status(tmp_path, COLUMNS) == "fail"
