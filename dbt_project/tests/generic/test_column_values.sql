{#-
    A model's column rules in one test: the `not_null` columns hold no null, and each column of
    `accepted_values` (a mapping column -> its values) holds only those values (nulls aside, as
    in dbt-core's `accepted_values`). One failing row per broken rule: the column, the rule and
    how many rows break it (the test's failures: their sum).

    One test per model rather than dbt-core's `not_null` and `accepted_values` per column: a
    data test costs dbt and Dagster about the same whatever it reads (compile, query, result,
    check event), and a near-real-time batch runs every test of staging and intermediate (each
    ~40-70 ms of a batch's ~14 s). One scan counts every rule. Values are quoted by their type
    in the yml: strings as strings, booleans and numbers as literals. Portable SQL.
-#}
{% test column_values(model, not_null=[], accepted_values={}) %}

{{ config(fail_calc = 'coalesce(sum(failing_rows), 0)') }}

{%- if not not_null and not accepted_values %}
    {{ exceptions.raise_compiler_error("column_values: give `not_null` columns or `accepted_values`") }}
{%- endif %}
{%- set rules = [] %}
{%- for column in not_null %}
    {%- do rules.append((column, 'null', 'count(*) - count(' ~ column ~ ')')) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
    {%- if not values %}
        {{ exceptions.raise_compiler_error("column_values: no accepted values given for " ~ column) }}
    {%- endif %}
    {%- set literals = [] %}
    {%- for value in values %}
        {%- if value is string %}
            {%- do literals.append("'" ~ value | replace("'", "''") ~ "'") %}
        {%- elif value is sameas true or value is sameas false %}
            {%- do literals.append(value | string | lower) %}
        {%- else %}
            {%- do literals.append(value | string) %}
        {%- endif %}
    {%- endfor %}
    {%- do rules.append((column, 'not an accepted value',
        'sum(case when ' ~ column ~ ' not in (' ~ literals | join(', ') ~ ') then 1 else 0 end)')) %}
{%- endfor %}

with rule_counts as (

    select
        {%- for column, rule, expression in rules %}
        {{ expression }} as rule_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column, rule, expression in rules -%}
select '{{ column }}' as column_name, '{{ rule }}' as rule, rule_{{ loop.index }} as failing_rows
from rule_counts
where rule_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{% endfor %}

{% endtest %}
