{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id'
    )
}}
-- Spans during which an account was under a suspension or ban (for abuse), as known at the
-- time: from the day a suspend/ban became knowable to the day a reinstatement did.
-- Incremental: an account with new actions has its spans rebuilt from all its actions.
with

actions as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

scope as (

    select distinct account_id, cast(null as date) as replace_from
    from actions
    {%- if is_incremental() %}
    where ingested_at > {{ ingested_through() }}
    {%- endif %}

),

state_changes as (

    select
        actions.account_id,
        {{ visible_date('actions.occurred_at', 'actions.first_loaded_at') }} as change_date,
        actions.occurred_at,
        actions.action_id,
        case when actions.action = 'reinstate' then 0 else 1 end as is_actioned
    from actions
    {%- if is_incremental() %}
    inner join scope on scope.account_id = actions.account_id
    {%- endif %}
    where actions.action = 'reinstate'
        or (actions.action in ('suspend', 'ban') and actions.abuse_type <> 'none')

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

),

final as (

    select
        account_id,
        actioned_from,
        actioned_until,
        {{ staged_through([ref('stg_marketplace__enforcement_actions')]) }} as _ingested_through
    from spans
    where is_actioned = 1

)

{{ replace_rows('final', 'scope', 'account_id') }}
