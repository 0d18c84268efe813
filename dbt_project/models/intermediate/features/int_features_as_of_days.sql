{{ config(materialized='ephemeral') }}
-- The as-of days to compute features for: `min_date`/`max_date` (inclusive, 'YYYY-MM-DD'; vars,
-- or the environment for Dagster's daily partitions: macro `feature_date`). Without them, the
-- days after the last one in the feature mart (or from the first day with activity) up to the
-- last day with activity.
{%- set mart = feature_mart_relation() %}
{%- set first, last = feature_date('min_date'), feature_date('max_date') %}
with

activity as (

    select * from {{ ref('int_account_activity_daily') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

bounds as (

    select
        {% if first -%}
            cast('{{ first }}' as date)
        {%- elif mart is not none -%}
            (select {{ add_days('max(as_of_date)', 1) }} from {{ mart }})
        {%- else -%}
            (select min(activity_date) from activity)
        {%- endif %} as start_date,
        {% if last -%}
            cast('{{ last }}' as date)
        {%- else -%}
            (select max(activity_date) from activity)
        {%- endif %} as end_date

),

days as (

    select
        calendar.calendar_date as as_of_date,
        {{ day_number('calendar.calendar_date') }} as day_number
    from calendar
    inner join bounds
        on calendar.calendar_date between bounds.start_date and bounds.end_date

)

select * from days
