-- Every (account, shared identifier) pair and the day it was first knowable: devices, IPs,
-- card fingerprints and shipping addresses. The raw material of the link graph and of
-- "new device / new country" signals.
with

accounts as (

    select * from {{ ref('int_account_profiles_versioned') }}

),

logins as (

    select * from {{ ref('stg_marketplace__logins') }}

),

payment_methods as (

    select * from {{ ref('stg_marketplace__payment_methods') }}

),

orders as (

    select * from {{ ref('stg_marketplace__orders') }}

),

sightings as (

    select account_id, 'device' as entity_type, signup_device_id as entity_id, valid_from_date as seen_date
    from accounts
    union all
    select account_id, 'ip', signup_ip_hash, valid_from_date
    from accounts
    union all
    select account_id, 'country', country_code, valid_from_date
    from accounts
    union all
    select account_id, 'device', device_id, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    where is_successful
    union all
    select account_id, 'ip', ip_hash, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    where is_successful
    union all
    select account_id, 'country', ip_country_code, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from logins
    where is_successful
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

)

select * from first_seen
