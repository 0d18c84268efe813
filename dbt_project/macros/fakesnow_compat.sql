{#-
  Workarounds for the fakesnow emulator (DuckDB underneath), used only by the test suite.
  Every override below is active only with `--vars '{fakesnow_compat: true}'`; without the var
  each one calls dbt-snowflake's own macro, so production SQL is unchanged. See README.md,
  "Snowflake and the fakesnow emulator".
-#}

{#-
  Temporary relations: DuckDB refuses a database-qualified TEMPORARY table ("TEMPORARY table
  names can *only* use the temp catalog"), and dbt-snowflake qualifies the temporary tables it
  creates for unit tests and incremental tmp relations. Create a transient table instead; dbt
  drops it when done.
-#}
{% macro snowflake__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {%- if temporary and language == 'sql' and var('fakesnow_compat', false) -%}
    {{ dbt.snowflake__create_table_transient_sql(relation, compiled_code) }}
  {%- else -%}
    {{ dbt.snowflake__create_table_as(temporary, relation, compiled_code, language) }}
  {%- endif -%}
{%- endmacro %}

{#- Same for temporary views (the incremental tmp relation): a normal view, dropped by dbt. -#}
{% macro snowflake__create_view_as_with_temp_flag(relation, sql, is_temporary=False) -%}
  {{ dbt.snowflake__create_view_as_with_temp_flag(
      relation, sql, is_temporary and not var('fakesnow_compat', false)) }}
{%- endmacro %}

{#-
  MERGE: fakesnow rewrites it into a join of target and source, so the unqualified column names
  in `when not matched then insert (...) values (...)` become ambiguous ("Binder Error:
  Ambiguous reference to column name"). Qualify the VALUES list with the source alias (valid
  Snowflake SQL too). Fails loudly if dbt-snowflake changes the layout of its MERGE.
-#}
{% macro snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates) -%}
  {%- set sql = dbt.snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates) -%}
  {%- if unique_key is none or not var('fakesnow_compat', false) -%}
    {{ return(sql) }}
  {%- endif -%}
  {%- set names = dest_columns | map(attribute='name') | list -%}
  {%- set qualified = [] -%}
  {%- for name in names -%}
    {%- do qualified.append('DBT_INTERNAL_SOURCE.' ~ adapter.quote(name)) -%}
  {%- endfor -%}
  {%- set old = 'values\n        (' ~ get_quoted_csv(names) ~ ')' -%}
  {%- set new = 'values\n        (' ~ (qualified | join(', ')) ~ ')' -%}
  {%- if old not in sql -%}
    {% do exceptions.raise_compiler_error('fakesnow_compat: could not find the MERGE values list to qualify') %}
  {%- endif -%}
  {{ return(sql.replace(old, new)) }}
{%- endmacro %}

{#-
  Explicit transactions: dbt-snowflake wraps incremental DML in `begin; ...; commit;`. Inside a
  transaction fakesnow writes both the target database and its own `_fs_global` catalog, which
  DuckDB refuses ("a single transaction can only write to a single attached database"), and the
  failed statement leaves the session aborted: every later query on that connection returns
  HTTP 500 and the connector retries for minutes. Run the DML in autocommit instead.
-#}
{% macro snowflake_dml_explicit_transaction(dml) %}
  {%- if var('fakesnow_compat', false) -%}
    {% do return(dml) %}
  {%- else -%}
    {% do return(dbt.snowflake_dml_explicit_transaction(dml)) %}
  {%- endif -%}
{% endmacro %}
