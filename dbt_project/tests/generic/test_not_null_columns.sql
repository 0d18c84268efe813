{#-
    The model's `columns` that hold a null: one row per such column, with its count of null
    values (the test's failures: their sum). One test per model rather than dbt-core's
    `not_null` per column: a data test costs dbt and Dagster about the same whatever it
    reads (compile, query, result, check event), and a near-real-time batch runs every test of
    staging and intermediate, where 95 per-column checks cost a batch ~2 s of its ~20 s. One scan
    counts every column's nulls. Portable SQL: `count(*) - count(column)`.
-#}
{% test not_null_columns(model, columns) %}

{{ config(fail_calc = 'coalesce(sum(null_values), 0)') }}

{%- if not columns %}
    {{ exceptions.raise_compiler_error("not_null_columns: give the columns that must not be null") }}
{%- endif %}

with null_counts as (

    select
        {%- for column in columns %}
        count(*) - count({{ column }}) as nulls_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in columns -%}
select '{{ column }}' as column_name, nulls_{{ loop.index }} as null_values
from null_counts
where nulls_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{% endfor %}

{% endtest %}
