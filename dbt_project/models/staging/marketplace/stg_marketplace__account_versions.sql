-- Every version of every account row (e.g. a buyer later approved as a seller, a phone
-- verified later), so features can read an account as it was known at the end of a past day.
with

source as (

    select * from {{ source('marketplace', 'accounts') }}

),

distinct_versions as (

    select *
    from source
    qualify row_number() over (
        partition by account_id, _loaded_at
        order by _source_file desc, _source_row desc
    ) = 1

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
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from distinct_versions

)

select * from renamed
