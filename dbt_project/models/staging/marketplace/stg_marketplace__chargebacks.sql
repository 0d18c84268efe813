with

source as (

    select * from {{ source('marketplace', 'chargebacks') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by chargeback_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by chargeback_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(chargeback_id as {{ dbt.type_string() }}) as chargeback_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(reported_at as {{ dbt.type_timestamp() }}) as reported_at,
        cast(reason as {{ dbt.type_string() }}) as chargeback_reason,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
