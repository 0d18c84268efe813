with

source as (

    select * from {{ source('marketplace', 'logins') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by event_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by event_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as login_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(ip_hash as {{ dbt.type_string() }}) as ip_hash,
        cast(ip_country as {{ dbt.type_string() }}) as ip_country_code,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(success as {{ dbt.type_boolean() }}) as is_successful,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
