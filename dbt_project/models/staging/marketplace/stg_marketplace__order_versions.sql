{{ config(unique_key=['order_id', 'loaded_at']) }}
-- Every version of every order (status changes re-emit the row), so features can see an
-- order's status as it was known at the end of any past day. Incremental: new raw rows are
-- merged with the stored versions of the same (order_id, loaded_at).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'orders')) }}

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
    inner join (select distinct order_id, loaded_at from renamed) as new_keys
        on new_keys.order_id = stored.order_id and new_keys.loaded_at = stored.loaded_at
    {%- endif %}

),

distinct_versions as (

    -- The same version loaded twice (same order_id and _loaded_at) counts once.
    select
        order_id, buyer_id, seller_id, stream_id, listing_id, created_at, amount_usd,
        payment_method_id, shipping_address_hash, order_status, shipped_at, delivered_at, loaded_at,
        max(ingested_at) over (partition by order_id, loaded_at) as ingested_at,
        source_file,
        source_row
    from candidates
    qualify row_number() over (
        partition by order_id, loaded_at
        order by source_file desc, source_row desc
    ) = 1

)

select * from distinct_versions
