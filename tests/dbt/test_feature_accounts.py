"""The feature definitions restricted to a set of accounts (var `feature_accounts`, what the
near-real-time path will use) give those accounts exactly the rows of the full build."""

from __future__ import annotations

import shutil

import duckdb

from tests.dbt.conftest import run_dbt

DAYS = ("2026-03-10", "2026-03-12")


def _rows(con, catalog: str, accounts: str) -> str:
    return (
        f"select * from {catalog}.marts.fct_account_features_daily"
        f" where as_of_date between '{DAYS[0]}' and '{DAYS[1]}' and account_id in ({accounts})"
    )


def test_features_of_some_accounts_equal_their_rows_of_the_full_build(full_build_duckdb, tmp_path):
    full, built, _ = full_build_duckdb
    assert built.returncode == 0, built.stdout[-5000:]
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(full, path)
    with duckdb.connect(str(path)) as con:
        # Every 7th account active on the days, among them sellers, new and linked accounts.
        con.execute("create schema scratch")
        con.execute(
            "create table scratch.some_accounts as select distinct account_id"
            " from marts.fct_account_features_daily where as_of_date between ? and ?"
            " and hash(account_id) % 7 = 0",
            list(DAYS),
        )
        (chosen,) = con.execute("select count(*) from scratch.some_accounts").fetchone()
    variables = f"{{min_date: '{DAYS[0]}', max_date: '{DAYS[1]}', feature_accounts: scratch.some_accounts}}"

    done = run_dbt(
        ["run", "--select", "fct_account_features_daily", "--vars", variables],
        tmp_path,
        {"VIGIL_DUCKDB_PATH": str(path), "VIGIL_DBT_TARGET": "local"},
    )

    assert done.returncode == 0, done.stdout[-5000:]
    con = duckdb.connect()
    con.execute(f"attach '{full}' as full_build (read_only)")
    con.execute(f"attach '{path}' as restricted (read_only)")
    accounts = "select account_id from restricted.scratch.some_accounts"
    full_rows, restricted_rows = _rows(con, "full_build", accounts), _rows(con, "restricted", accounts)
    (n,) = con.execute(f"select count(*) from ({restricted_rows})").fetchone()
    assert chosen > 30 and n >= chosen
    assert con.execute(f"select count(*) from ({full_rows} except all {restricted_rows})").fetchone()[0] == 0
    assert con.execute(f"select count(*) from ({restricted_rows} except all {full_rows})").fetchone()[0] == 0
    # Only the chosen accounts were computed: the days now hold their rows alone (which is
    # why no job runs the real mart with the var).
    (others,) = con.execute(
        f"select count(*) from restricted.marts.fct_account_features_daily where as_of_date between"
        f" '{DAYS[0]}' and '{DAYS[1]}' and account_id not in ({accounts})"
    ).fetchone()
    assert others == 0
    con.close()
