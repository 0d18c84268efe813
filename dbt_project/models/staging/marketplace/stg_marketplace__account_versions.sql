{{ config(unique_key=['account_id', 'loaded_at']) }}
-- Every version of every account row (e.g. a buyer later approved as a seller, a phone
-- verified later), so features can read an account as it was known at the end of a past day.
-- Incremental: new raw rows are merged with the stored versions of the same (account_id, loaded_at).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'accounts')) }}

),

renamed as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(country as {{ dbt.type_string() }}) as country_code,
        cast(email_domain as {{ dbt.type_string() }}) as email_domain,
        cast(phone_verified as {{ dbt.type_boolean() }}) as is_phone_verified,
        cast(signup_ip_hash as {{ dbt.type_string() }}) as signup_ip_hash,
        cast(signup_device_id as {{ dbt.type_string() }}) as signup_device_id,
        cast(is_seller as {{ dbt.type_boolean() }}) as is_seller,
        cast(seller_approved_at as {{ dbt.type_timestamp() }}) as seller_approved_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_row as {{ dbt.type_int() }}) as source_row
    from source

),

candidates as (

    select * from renamed
    {%- if is_incremental() %}
    union all
    select stored.*
    from {{ this }} as stored
    inner join (select distinct account_id, loaded_at from renamed) as new_keys
        on new_keys.account_id = stored.account_id and new_keys.loaded_at = stored.loaded_at
    {%- endif %}

),

distinct_versions as (

    select
        account_id, created_at, country_code, email_domain, is_phone_verified, signup_ip_hash,
        signup_device_id, is_seller, seller_approved_at, loaded_at,
        max(ingested_at) over (partition by account_id, loaded_at) as ingested_at,
        source_file,
        source_row
    from candidates
    qualify row_number() over (
        partition by account_id, loaded_at
        order by source_file desc, source_row desc
    ) = 1

)

select * from distinct_versions
