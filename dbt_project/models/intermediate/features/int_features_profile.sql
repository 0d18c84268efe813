{{ config(materialized='ephemeral') }}
-- Identity and tenure per as-of point: the account's profile version valid on the day.
with

points as (

    select * from {{ ref('int_features_population') }}

),

profiles as (

    select * from {{ ref('int_account_profiles_versioned') }}

),

disposable_domains as (

    select * from {{ ref('disposable_email_domains') }}

),

profile_as_of as (

    select
        points.account_id,
        points.as_of_date,
        profiles.created_at,
        profiles.country_code,
        profiles.email_domain,
        profiles.is_phone_verified,
        profiles.is_seller,
        profiles.seller_approved_at
    from points
    left join profiles
        on profiles.account_id = points.account_id
        and points.as_of_date between profiles.valid_from_date and profiles.valid_to_date

),

features as (

    select
        profile_as_of.account_id,
        profile_as_of.as_of_date,
        {{ days_between('cast(profile_as_of.created_at as date)', 'profile_as_of.as_of_date') }} as account_age_days,
        profile_as_of.country_code,
        coalesce(profile_as_of.is_phone_verified, false) as is_phone_verified,
        disposable_domains.email_domain is not null as has_disposable_email_domain,
        coalesce(profile_as_of.is_seller, false) as is_seller,
        case
            when profile_as_of.seller_approved_at is not null
                then {{ days_between('cast(profile_as_of.seller_approved_at as date)', 'profile_as_of.as_of_date') }}
        end as seller_tenure_days
    from profile_as_of
    left join disposable_domains
        on disposable_domains.email_domain = lower(profile_as_of.email_domain)

)

select * from features
