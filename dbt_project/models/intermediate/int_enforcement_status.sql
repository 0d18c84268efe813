-- Spans during which an account was under a suspension or ban (for abuse), as known at the
-- time: from the day a suspend/ban became knowable to the day a reinstatement did.
with

actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

state_changes as (

    select
        account_id,
        {{ visible_date('occurred_at', 'first_loaded_at') }} as change_date,
        occurred_at,
        action_id,
        case when action = 'reinstate' then 0 else 1 end as is_actioned
    from actions
    where action = 'reinstate'
        or (action in ('suspend', 'ban') and abuse_type <> 'none')

),

last_change_per_day as (

    -- The end of a day sees the last change known by then.
    select *
    from state_changes
    qualify row_number() over (
        partition by account_id, change_date order by occurred_at desc, action_id desc
    ) = 1

),

spans as (

    select
        account_id,
        is_actioned,
        change_date as actioned_from,
        coalesce(
            lead(change_date) over (partition by account_id order by change_date),
            cast('9999-12-31' as date)
        ) as actioned_until
    from last_change_per_day

)

select account_id, actioned_from, actioned_until
from spans
where is_actioned = 1
