{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='account_id'
    )
}}
-- Each account's profile as it was known on each day: one row per account per validity span.
-- Incremental: an account with a new version has all its spans rebuilt from its versions.
with

account_versions as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__account_versions') }}

),

{% if is_incremental() -%}
changed_accounts as (

    select distinct account_id
    from account_versions
    where ingested_at > {{ ingested_through() }}

),

{% endif -%}
dated as (

    select
        *,
        {{ visible_date('created_at', 'loaded_at') }} as valid_from_date
    from account_versions
    {%- if is_incremental() %}
    where account_id in (select account_id from changed_accounts)
    {%- endif %}

),

last_version_per_day as (

    -- Several versions loaded the same day: the end of the day sees the last one.
    select *
    from dated
    qualify row_number() over (
        partition by account_id, valid_from_date order by loaded_at desc
    ) = 1

),

spans as (

    select
        account_id,
        valid_from_date,
        coalesce(
            {{ add_days('lead(valid_from_date) over (partition by account_id order by valid_from_date)', -1) }},
            cast('9999-12-31' as date)
        ) as valid_to_date,
        created_at,
        country_code,
        email_domain,
        is_phone_verified,
        signup_ip_hash,
        signup_device_id,
        is_seller,
        seller_approved_at,
        {{ staged_through([ref('stg_marketplace__account_versions')]) }} as _ingested_through
    from last_version_per_day

)

select * from spans
