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
        count(*) as streams_hosted
    from livestreams
    group by seller_id, {{ visible_date('started_at', 'first_loaded_at') }}

),

{{ rebuild_tiles('per_day') }}
