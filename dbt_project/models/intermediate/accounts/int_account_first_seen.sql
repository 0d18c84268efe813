{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='account_id'
    )
}}
-- When each account first became knowable (its first loaded account row). Incremental: the
-- accounts with new versions are recomputed from their versions.
with

account_versions as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__account_versions') }}

),

first_seen as (

    select
        account_id,
        min({{ visible_date('created_at', 'loaded_at') }}) as first_seen_date,
        {{ staged_through([ref('stg_marketplace__account_versions')]) }} as _ingested_through
    from account_versions
    {%- if is_incremental() %}
    where account_id in (
        select account_id from account_versions where ingested_at > {{ ingested_through() }}
    )
    {%- endif %}
    group by account_id

)

select * from first_seen
