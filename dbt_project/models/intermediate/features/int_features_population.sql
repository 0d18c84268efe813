{{ config(materialized='ephemeral') }}
-- The as-of points: one row per account per as-of day for every account active in the 90 days
-- up to that day (signed up, logged in, bid, bought, sold or hosted a show), with its active
-- days in the last 30 and 90 days. Built from the account's active days, not a dense grid.
--
-- Var `feature_accounts` (a relation name, optional) restricts the points to the accounts it
-- lists (column account_id): the near-real-time path computes a few accounts with the same
-- definitions.
with

days as (

    select * from {{ ref('int_features_as_of_days') }}

),

activity as (

    select * from {{ ref('int_account_activity_daily') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from days

),

active_days as (

    select
        activity.account_id,
        activity.activity_date,
        {{ day_number('activity.activity_date') }} as day_number
    from activity
    cross join bounds
    where activity.activity_date between {{ add_days('bounds.start_date', -89) }} and bounds.end_date
        {{- within_known_days('activity.activity_date', 89) }}
    {%- if var('feature_accounts', none) %}
        and activity.account_id in (select account_id from {{ var('feature_accounts') }})
    {%- endif %}

),

{% if feature_strategy() == 'join' -%}
counted as (

    -- A few as-of days: each day with the active days of its 90-day window (macros/features.sql).
    select
        active_days.account_id,
        days.as_of_date,
        days.day_number,
        sum(case when active_days.day_number > days.day_number - 30 then 1 else 0 end) as active_days_30d,
        sum(1) as active_days_90d
    from days
    {%- if single_as_of_day() %}
    -- One day: every active day read is in its window.
    cross join active_days
    {%- else %}
    inner join active_days
        on active_days.day_number between days.day_number - 89 and days.day_number
    {%- endif %}
    group by active_days.account_id, days.as_of_date, days.day_number

),

windowed as (

    select *, true as is_point from counted

),

{% else -%}
covered as (

    -- Each active day keeps the account in for 90 days, up to the next active day: spans that
    -- never overlap, so the as-of points come out once each without a dense grid.
    select
        account_id,
        day_number as first_day_number,
        least(
            day_number + 89,
            coalesce(lead(day_number) over (partition by account_id order by day_number) - 1, day_number + 89)
        ) as last_day_number
    from active_days

),

points as (

    select
        covered.account_id,
        days.as_of_date,
        days.day_number
    from covered
    inner join days
        on days.day_number between covered.first_day_number and covered.last_day_number

),

timeline as (

    -- Each active day counts in the 30- and 90-day windows until it expires (macros/features.sql).
    select account_id, day_number, cast(null as date) as as_of_date, 1 as is_active_day__30d, 1 as is_active_day__90d
    from active_days
    union all
    select account_id, day_number + 30, cast(null as date), -1, 0
    from active_days
    union all
    select account_id, day_number + 90, cast(null as date), 0, -1
    from active_days
    union all
    select account_id, day_number, as_of_date, 0, 0
    from points

),

windowed as (

    select
        account_id,
        as_of_date,
        day_number,
        as_of_date is not null as is_point,
        {{ trailing('is_active_day', 30) }} as active_days_30d,
        {{ trailing('is_active_day', 90) }} as active_days_90d
    from timeline

),

{% endif -%}
final as (

    select account_id, as_of_date, day_number, active_days_30d, active_days_90d
    from windowed
    where is_point

)

select * from final
