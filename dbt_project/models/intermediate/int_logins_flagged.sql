-- Every login, dated by the day it became knowable, flagged when it brought the account a new
-- device or a new IP country. The one place "new device" and "new country" are defined.
with

logins as (

    select * from {{ ref('stg_marketplace__logins') }}

),

entities as (

    select * from {{ ref('int_account_entities') }}

),

account_first_seen as (

    select * from {{ ref('int_account_first_seen') }}

),

dated as (

    select
        login_id,
        account_id,
        device_id,
        ip_hash,
        ip_country_code,
        is_successful,
        occurred_at,
        {{ visible_date('occurred_at', 'first_loaded_at') }} as activity_date
    from logins

),

flagged as (

    -- A device or country is new on the day the account was first seen with it, unless that
    -- is the account's own first day (its signup device and country are never "new"); only a
    -- successful login brings one.
    select
        dated.*,
        coalesce(
            dated.is_successful
            and devices.first_seen_date = dated.activity_date
            and devices.first_seen_date > account_first_seen.first_seen_date,
            false
        ) as is_new_device,
        coalesce(
            dated.is_successful
            and countries.first_seen_date = dated.activity_date
            and countries.first_seen_date > account_first_seen.first_seen_date,
            false
        ) as is_new_country
    from dated
    left join account_first_seen
        on account_first_seen.account_id = dated.account_id
    left join entities as devices
        on devices.account_id = dated.account_id
        and devices.entity_type = 'device'
        and devices.entity_id = dated.device_id
    left join entities as countries
        on countries.account_id = dated.account_id
        and countries.entity_type = 'country'
        and countries.entity_id = dated.ip_country_code

)

select * from flagged
