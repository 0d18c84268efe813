-- The account's own enforcement history per day: actions already taken and visible.
with

actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

per_day as (

    select
        account_id,
        {{ visible_date('occurred_at', 'first_loaded_at') }} as activity_date,
        sum(case when action = 'warn' then 1 else 0 end) as warnings_received,
        sum(case when action in ('suspend', 'ban') and abuse_type <> 'none' then 1 else 0 end)
            as suspensions_received,
        sum(case when action = 'reinstate' then 1 else 0 end) as reinstatements_received
    from actions
    group by account_id, {{ visible_date('occurred_at', 'first_loaded_at') }}

)

select * from per_day
