{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- The account's own enforcement history per day, with running totals: the enforcement tile.
-- Incremental: the tiles of changed accounts are rebuilt from the first day that may have
-- changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}
    {%- if is_incremental() %}
    where account_id in (select account_id from changed_accounts)
    {%- endif %}

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

),

{{ rebuild_tiles('per_day', {
    'warnings_received': 'warnings_received_total',
    'suspensions_received': 'suspensions_received_total',
    'reinstatements_received': 'reinstatements_received_total',
}) }}
