with

source as (

    select * from {{ source('marketplace', 'payment_methods') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by payment_method_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by payment_method_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(payment_method_id as {{ dbt.type_string() }}) as payment_method_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(added_at as {{ dbt.type_timestamp() }}) as added_at,
        cast(card_fingerprint as {{ dbt.type_string() }}) as card_fingerprint,
        cast(card_country as {{ dbt.type_string() }}) as card_country_code,
        cast(card_type as {{ dbt.type_string() }}) as card_type,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
