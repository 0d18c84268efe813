{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['account_id', 'entity_type', 'entity_id']
    )
}}
-- Every (account, shared identifier) pair and the day it was first knowable: devices, IPs,
-- countries, card fingerprints and shipping addresses. The raw material of the link graph and
-- of "new device / new country" signals. Incremental: a first sighting can only move earlier,
-- so the sightings staged since the last run are merged with the stored first days and only
-- pairs that are new or moved are rewritten (their `_ingested_through` is what the link graph
-- and the change log read).
with

{%- set since = ingested_through() if is_incremental() else none %}

account_versions as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__account_versions') }}
    {%- if since %} where ingested_at > {{ since }}{% endif %}

),

logins as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__logins') }}
    where is_successful
    {%- if since %} and ingested_at > {{ since }}{% endif %}

),

payment_methods as (

    select * from {{ ref('stg_marketplace__payment_methods') }}
    {%- if since %} where ingested_at > {{ since }}{% endif %}

),

orders as (

    select * from {{ ref('stg_marketplace__orders') }}
    {%- if since %} where ingested_at > {{ since }}{% endif %}

),

sightings as (

    -- Every profile version is a sighting of its signup device, IP and country, from the day
    -- the version was knowable.
    select account_id, 'device' as entity_type, signup_device_id as entity_id,
        {{ visible_date('created_at', 'loaded_at') }} as seen_date
    from account_versions
    union all
    select account_id, 'ip', signup_ip_hash, {{ visible_date('created_at', 'loaded_at') }}
    from account_versions
    union all
    select account_id, 'country', country_code, {{ visible_date('created_at', 'loaded_at') }}
    from account_versions
    union all
    select account_id, 'device', device_id, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    union all
    select account_id, 'ip', ip_hash, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    union all
    select account_id, 'country', ip_country_code, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    union all
    select account_id, 'card', card_fingerprint, {{ visible_date('added_at', 'first_loaded_at') }}
    from payment_methods
    union all
    select buyer_id, 'address', shipping_address_hash, {{ visible_date('created_at', 'first_loaded_at') }}
    from orders

),

first_seen as (

    select
        account_id,
        entity_type,
        entity_id,
        min(seen_date) as first_seen_date
    from sightings
    where entity_id is not null
    group by account_id, entity_type, entity_id

),

{% if is_incremental() -%}
moved_or_new as (

    select first_seen.*
    from first_seen
    left join (
        -- The stored pairs of the identifiers seen. A join on one column reaches DuckDB's scan
        -- as a Bloom filter (on all three, it does not): most of the 2.7 million stored pairs are
        -- dropped in the scan, before the join.
        select stored.*
        from {{ this }} as stored
        inner join (select distinct entity_id from first_seen) as seen
            on seen.entity_id = stored.entity_id
    ) as stored
        on stored.account_id = first_seen.account_id
        and stored.entity_type = first_seen.entity_type
        and stored.entity_id = first_seen.entity_id
    where stored.first_seen_date is null
        or first_seen.first_seen_date < stored.first_seen_date

),

{% else -%}
moved_or_new as (

    select * from first_seen

),

{% endif -%}
final as (

    select
        account_id,
        entity_type,
        entity_id,
        first_seen_date,
        {{ staged_through([
            ref('stg_marketplace__account_versions'),
            ref('stg_marketplace__logins'),
            ref('stg_marketplace__payment_methods'),
            ref('stg_marketplace__orders'),
        ]) }} as _ingested_through
    from moved_or_new

)

select * from final
