{{ config(unique_key='account_id') }}
-- The newest version of each account (the contract: latest version wins), and when the id was
-- first loaded, the moment it became knowable. Built on the version history so the two never
-- disagree on renames and casts. Incremental: the versions staged since the last run are
-- merged with the stored row of the same account.
with

new_versions as (

    select * from {{ ref('stg_marketplace__account_versions') }}
    {%- if is_incremental() %}
    where ingested_at > {{ ingested_through(column='ingested_at') }}
    {%- endif %}

),

candidates as (

    select new_versions.*, new_versions.loaded_at as first_loaded_at, 1 as is_new
    from new_versions
    {%- if is_incremental() %}
    union all
    select
        account_id, created_at, country_code, email_domain, is_phone_verified, signup_ip_hash,
        signup_device_id, is_seller, seller_approved_at, loaded_at, ingested_at, source_file,
        source_row, first_loaded_at, 0 as is_new
    from {{ this }}
    where account_id in (select account_id from new_versions)
    {%- endif %}

),

latest_version as (

    select
        account_id, created_at, country_code, email_domain, is_phone_verified, signup_ip_hash,
        signup_device_id, is_seller, seller_approved_at, loaded_at,
        max(ingested_at) over (partition by account_id) as ingested_at,
        source_file,
        source_row,
        min(first_loaded_at) over (partition by account_id) as first_loaded_at
    from candidates
    qualify row_number() over (partition by account_id order by loaded_at desc, is_new desc) = 1

)

select * from latest_version
