-- Every version of every order (status changes re-emit the row), so features can see an
-- order's status as it was known at the end of any past day.
with

source as (

    select * from {{ source('marketplace', 'orders') }}

),

distinct_versions as (

    -- The same version loaded twice (same order_id and _loaded_at) counts once.
    select *
    from source
    qualify row_number() over (
        partition by order_id, _loaded_at
        order by _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(buyer_id as {{ dbt.type_string() }}) as buyer_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(stream_id as {{ dbt.type_string() }}) as stream_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        cast(payment_method_id as {{ dbt.type_string() }}) as payment_method_id,
        cast(shipping_address_hash as {{ dbt.type_string() }}) as shipping_address_hash,
        cast(status as {{ dbt.type_string() }}) as order_status,
        cast(shipped_at as {{ dbt.type_timestamp() }}) as shipped_at,
        cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from distinct_versions

)

select * from renamed
