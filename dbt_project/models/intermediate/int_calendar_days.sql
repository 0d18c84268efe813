-- One row per day, from 90 days before the first activity to a year after the last: the
-- spine of the account-day grid.
with recursive

bounds as (

    select
        {{ add_days('min(activity_date)', -90) }} as first_day,
        {{ add_days('max(activity_date)', 366) }} as last_day
    from {{ ref('int_account_activity_daily') }}

),

spine (calendar_date) as (

    select first_day from bounds
    union all
    select {{ add_days('calendar_date', 1) }}
    from spine
    where calendar_date < (select last_day from bounds)

)

select calendar_date from spine
