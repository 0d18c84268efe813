with

source as (

    select * from {{ source('marketplace', 'accounts') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by account_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by account_id
        order by _loaded_at desc, _source_file desc, _source_row desc
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
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
