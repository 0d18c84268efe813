{#-
    A model's column rules in one test: the `not_null` columns hold no null, each column of
    `accepted_values` (a mapping column -> its values) holds only those values (nulls aside, as
    in dbt-core's `accepted_values`), and no two rows share the `unique_key` (one column or
    several; rows group as in SQL's `group by`, nulls together). One failing row per broken
    rule: the column(s), the rule and how many rows break it (for the key: how many key values
    are duplicated). The test's failures are their sum.

    One test per model rather than dbt-core's `not_null`, `accepted_values` and `unique` per
    column: a data test costs dbt and Dagster about the same whatever it reads (compile, query,
    result, check event), and a near-real-time batch runs every test of staging and
    intermediate (each tens of milliseconds of a batch's run). Values are quoted by their
    type in the yml: strings as strings, booleans and numbers as literals. Portable SQL.

    Which rows it reads (macros/tested_rows.sql): those written since it last passed, and with
    a `unique_key`, every row sharing a key with them too (a new copy of an old key is caught).
-#}
{% test column_values(model, not_null=[], accepted_values={}, unique_key=[]) %}

{{ config(fail_calc = 'coalesce(sum(failing_rows), 0)') }}

{%- if not not_null and not accepted_values and not unique_key %}
    {{ exceptions.raise_compiler_error("column_values: give `not_null` columns, `accepted_values` or a `unique_key`") }}
{%- endif %}
{%- set unique_key = [unique_key] if unique_key is string else unique_key %}
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

with tested as (

    select * from {{ model }}

){{ ',' if rules or unique_key }}
{%- if rules %}

rule_counts as (

    select
        {%- for column, rule, expression in rules %}
        {{ expression }} as rule_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from tested

){{ ',' if unique_key }}
{%- endif %}
{%- if unique_key %}

duplicated_keys as (

    select {{ unique_key | join(', ') }}
    from tested
    group by {{ unique_key | join(', ') }}
    having count(*) > 1

)
{%- endif %}

{% for column, rule, expression in rules -%}
select '{{ column }}' as column_name, '{{ rule }}' as rule, rule_{{ loop.index }} as failing_rows
from rule_counts
where rule_{{ loop.index }} > 0
{{ 'union all' if not loop.last or unique_key }}
{% endfor -%}
{%- if unique_key -%}
select '{{ unique_key | join(", ") }}' as column_name, 'duplicated key' as rule, count(*) as failing_rows
from duplicated_keys
having count(*) > 0
{%- endif %}

{% endtest %}
