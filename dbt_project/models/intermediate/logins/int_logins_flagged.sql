{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='login_id'
    )
}}
-- Every login, dated by the day it became knowable, flagged when it brought the account a new
-- device or a new IP country. The one place "new device" and "new country" are defined.
-- Incremental: new logins, plus the stored logins of accounts whose devices, countries or
-- first day may have changed (int_account_changes), from the first day that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

new_logins as (

    select *
    from {{ ref('stg_marketplace__logins') }}
    where ingested_at > {{ ingested_through() }}
        and ingested_at <= {{ change_log_ingested_through() }}

),

stored_logins as (

    -- Login rows carry their content: re-flagging needs nothing from staging.
    select
        stored.login_id,
        stored.account_id,
        stored.device_id,
        stored.ip_hash,
        stored.ip_country_code,
        stored.is_successful,
        stored.occurred_at,
        stored.activity_date
    from {{ this }} as stored
    inner join changed_accounts
        on changed_accounts.account_id = stored.account_id
        and stored.activity_date >= changed_accounts.changed_from
    where stored.login_id not in (select login_id from new_logins)

),

{% else -%}
new_logins as (

    select * from {{ ref('stg_marketplace__logins') }}

),

{% endif -%}
entities as {{ inlined() }} (

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
    from new_logins
    {%- if is_incremental() %}
    union all
    select * from stored_logins
    {%- endif %}

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
        ) as is_new_country,
        {{ change_log_ingested_through() }} as _ingested_through
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

select * from flagged {{ in_order_of('activity_date') }}
