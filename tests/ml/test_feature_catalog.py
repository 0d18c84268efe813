"""The feature catalog: the marts yml documents every mart column, and FEATURES.md follows it."""

import logging
import re
from pathlib import Path

import pytest
import yaml

from ml.features.catalog import (
    DBT_PROJECT_DIR,
    DEFAULT_MODELS_YML,
    DEFAULT_OUTPUT,
    FAMILIES,
    FEATURE_MODEL,
    CatalogError,
    load_feature_columns,
    main,
    render_feature_catalog,
)

MART_SQL = DBT_PROJECT_DIR / "models" / "marts" / f"{FEATURE_MODEL}.sql"
# Where the mart's columns are named: the mart stores this model's rows as they are.
FEATURES_SQL = DBT_PROJECT_DIR / "models" / "intermediate" / "features" / "int_features_joined.sql"

# Written out here, not imported, so a family slipped into the module is caught.
ALLOWED_FAMILIES = {
    "identity_tenure",
    "payments",
    "buying_velocity",
    "login_takeover",
    "bidding",
    "seller_behaviour",
    "network",
    "enforcement_history",
    "activity",
}
NOT_FEATURES = {"account_id", "as_of_date", "country_code"}

_IDENT = r"[a-z_][a-z0-9_]*"


def select_list_columns(sql: str, cte: str = "features") -> list[str]:
    """Output column names of `cte`'s select list, read from the model's SQL text.

    Without a warehouse we cannot ask the database for the columns, and `dbt parse` does not
    infer them, so we read the SQL. Matching lines such as `as <name>,` would be fragile (an
    alias on the line after a multi-line expression, `as date)` inside a cast, commas inside
    macro calls), so instead: drop Jinja comments, Jinja expressions and SQL comments (they hold
    commas, parentheses and `as`), split the select list on commas at parenthesis depth 0 up to
    its first top-level `from`, and name each item by its trailing `as <alias>`, or by the column
    of a bare `[table.]column`. An item that is neither fails loudly instead of being skipped.
    """
    text = re.sub(r"\{#.*?#\}", " ", sql, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " jinja_expr ", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"--[^\n]*", " ", text).lower()

    start = re.search(rf"\b{cte}\s+as\s+\(\s*select\b", text)
    assert start, f"no `{cte} as (select ...` CTE found"
    body = text[start.end() :]

    items: list[str] = []
    depth, item_start = 0, 0
    for token in re.finditer(r"[(),]|\bfrom\b", body):
        if token.group() == "(":
            depth += 1
        elif token.group() == ")":
            depth -= 1
            assert depth >= 0, f"`{cte}` CTE ended before a top-level `from`"
        elif depth == 0:
            items.append(body[item_start : token.start()])
            item_start = token.end()
            if token.group() == "from":
                break
    else:
        raise AssertionError(f"no top-level `from` after `{cte}`'s select list")

    names = []
    for item in (" ".join(i.split()) for i in items):
        aliased = re.fullmatch(rf".*\bas ({_IDENT})", item)
        bare = re.fullmatch(rf"(?:{_IDENT}\.)?({_IDENT})", item)
        assert aliased or bare, f"cannot name select item {item!r} (no `as` alias)"
        names.append((aliased or bare).group(1))
    return names


def _write_yml(path: Path, columns: list[dict]) -> Path:
    models = {"version": 2, "models": [{"name": FEATURE_MODEL, "columns": columns}]}
    path.write_text(yaml.safe_dump(models, sort_keys=False), encoding="utf-8")
    return path


def _column(name: str, family: str, window: str = "7d", unit: str = "count") -> dict:
    meta = {"family": family, "window": window, "unit": unit}
    return {"name": name, "description": f"About {name}.", "config": {"meta": meta}}


def test_select_list_parser_names_aliases_bare_columns_and_multiline_expressions():
    sql = """
        features as (
            select
                in_window.account_id,
                -- a comment, with commas (and parentheses)
                {{ days_between('cast(p.created_at as date)', 'w.as_of_date') }} as age_days,
                coalesce(p.flag, false) as flag,
                {{ safe_ratio('a', 'b') }}
                    as share_30d,
                case when x > 0 then {{ f('y, z') }} end as tenure
            from in_window
            left join p on p.id = in_window.account_id
        )
        select * from features
    """
    assert select_list_columns(sql) == ["account_id", "age_days", "flag", "share_30d", "tenure"]


def test_select_list_parser_rejects_an_item_without_alias():
    sql = "features as (select a.x, cast(a.y as date) from a) select * from features"
    with pytest.raises(AssertionError, match="cannot name select item"):
        select_list_columns(sql)


def test_mart_output_is_the_features_cte():
    # The parser reads the `features` CTE of int_features_joined, which is only right while
    # that model returns it and the mart returns that model as it is.
    assert FEATURES_SQL.read_text().rstrip().endswith("select * from features")
    mart = MART_SQL.read_text()
    assert mart.rstrip().endswith("select * from features")
    assert "select * from {{ ref('int_features_joined') }}" in mart


def test_every_mart_column_is_documented_with_family_window_and_unit():
    sql_columns = select_list_columns(FEATURES_SQL.read_text())
    documented = [c.name for c in load_feature_columns(DEFAULT_MODELS_YML)]  # validates meta

    assert len(sql_columns) == len(set(sql_columns)), "duplicate output column in the SQL"
    assert len(documented) == len(set(documented)), "column documented twice in the yml"
    assert {"account_id", "as_of_date"} <= set(sql_columns)
    assert sorted(set(sql_columns) - set(documented)) == [], "mart columns missing from the yml"
    assert sorted(set(documented) - set(sql_columns)) == [], "yml columns not in the mart SQL"


def test_feature_catalog_on_disk_matches_the_marts_yml():
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_feature_catalog(DEFAULT_MODELS_YML), (
        "dbt_project/FEATURES.md is stale: run `uv run python -m ml.features.catalog`"
    )


def test_catalog_documents_at_least_50_feature_columns():
    features = [c for c in load_feature_columns(DEFAULT_MODELS_YML) if c.name not in NOT_FEATURES]
    assert len(features) >= 50


def test_every_family_is_from_the_allowed_set():
    assert set(FAMILIES) == ALLOWED_FAMILIES
    families = {c.family for c in load_feature_columns(DEFAULT_MODELS_YML)}
    assert families <= ALLOWED_FAMILIES


def test_every_share_column_has_a_zero_to_one_range_test():
    models = yaml.safe_load(DEFAULT_MODELS_YML.read_text(encoding="utf-8"))["models"]
    (mart,) = [m for m in models if m["name"] == FEATURE_MODEL]
    unchecked = []
    for column in mart["columns"]:
        if column["config"]["meta"]["unit"] != "share_0_1":
            continue
        bounds = [
            t["between"]["arguments"] for t in column.get("data_tests", []) if isinstance(t, dict) and "between" in t
        ]
        if {"min_value": 0, "max_value": 1} not in bounds:
            unchecked.append(column["name"])
    assert unchecked == []


def test_catalog_orders_families_fixed_and_columns_as_in_the_yml(tmp_path):
    yml = _write_yml(
        tmp_path / "models.yml",
        [
            _column("zeta_count", "network", "as_of"),
            _column("b_orders_7d", "buying_velocity"),
            _column("a_orders_1d", "buying_velocity", "1d"),
            _column("account_id", "identity_tenure", "as_of", "id"),
        ],
    )
    catalog = render_feature_catalog(yml)

    headings = re.findall(r"^## .*\(`(\w+)`\)$", catalog, flags=re.M)
    assert headings == ["identity_tenure", "buying_velocity", "network"]
    rows = re.findall(r"^\| `(\w+)` \| (\S+) \| (\S+) \|", catalog, flags=re.M)
    assert rows == [
        ("account_id", "as_of", "id"),
        ("b_orders_7d", "7d", "count"),
        ("a_orders_1d", "1d", "count"),
        ("zeta_count", "as_of", "count"),
    ]


def test_pipes_and_line_breaks_in_descriptions_do_not_break_the_table(tmp_path):
    column = _column("x_7d", "bidding")
    column["description"] = "a | b\nc"
    catalog = render_feature_catalog(_write_yml(tmp_path / "models.yml", [column]))
    assert "| `x_7d` | 7d | count | a \\| b c |" in catalog


def test_a_column_without_metadata_is_reported_by_name(tmp_path):
    yml = _write_yml(
        tmp_path / "models.yml",
        [_column("ok_7d", "bidding"), {"name": "undocumented", "description": "No meta."}],
    )
    with pytest.raises(CatalogError, match="undocumented: family None"):
        render_feature_catalog(yml)


def test_unknown_family_or_unit_is_rejected(tmp_path):
    yml = _write_yml(tmp_path / "models.yml", [_column("x", "fraud_stuff", "7d", "furlongs")])
    with pytest.raises(CatalogError, match="fraud_stuff") as error:
        load_feature_columns(yml)
    assert "furlongs" in str(error.value)


def test_a_rules_only_column_is_marked_and_model_input_must_be_true_or_false(tmp_path):
    rules_only = _column("x_90d", "bidding", "90d")
    rules_only["config"]["meta"]["model_input"] = False
    catalog = render_feature_catalog(_write_yml(tmp_path / "models.yml", [_column("x_7d", "bidding"), rules_only]))
    assert "| `x_7d` | 7d | count |" in catalog
    assert "| `x_90d` (*rules only*) | 90d | count |" in catalog
    assert "1 of them (marked *rules only*)" in catalog
    rules_only["config"]["meta"]["model_input"] = "no"
    with pytest.raises(CatalogError, match="x_90d: model_input 'no' is not true or false"):
        load_feature_columns(_write_yml(tmp_path / "models.yml", [rules_only]))


def test_check_exits_1_on_a_stale_catalog_and_0_once_regenerated(tmp_path, caplog):
    yml = _write_yml(tmp_path / "models.yml", [_column("x_7d", "bidding")])
    output = tmp_path / "FEATURES.md"
    output.write_text("# stale\n", encoding="utf-8")

    with caplog.at_level(logging.ERROR):
        assert main(["--check"], models_yml=yml, output=output) == 1
    assert "out of date" in caplog.text and "python -m ml.features.catalog" in caplog.text
    assert output.read_text(encoding="utf-8") == "# stale\n"  # --check writes nothing

    assert main([], models_yml=yml, output=output) == 0
    assert main(["--check"], models_yml=yml, output=output) == 0


def test_check_exits_1_when_the_catalog_is_missing(tmp_path):
    yml = _write_yml(tmp_path / "models.yml", [_column("x_7d", "bidding")])
    assert main(["--check"], models_yml=yml, output=tmp_path / "absent.md") == 1
