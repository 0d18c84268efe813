{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Shows hosted per seller per day: the hosting tile. Incremental: the tiles of changed
-- accounts are rebuilt from the first day that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }}
    {%- if is_incremental() %}
    where seller_id in (select account_id from changed_accounts)
    {%- endif %}

),

per_day as (

    select
        seller_id as account_id,
        {{ visible_date('started_at', 'first_loaded_at') }} as activity_date,
        count(*) as streams_hosted,
        {{ change_log_ingested_through() }} as _ingested_through
    from livestreams
    group by seller_id, {{ visible_date('started_at', 'first_loaded_at') }}

),

scope as (

    {% if is_incremental() -%}
    select account_id, changed_from as replace_from from changed_accounts
    {%- else -%}
    select account_id, min(activity_date) as replace_from from per_day group by account_id
    {%- endif %}

),

reopened as (

    select per_day.*
    from per_day
    inner join scope
        on scope.account_id = per_day.account_id
        and per_day.activity_date >= scope.replace_from

)

{{ replace_rows('reopened', 'scope', 'account_id', 'activity_date') }}
