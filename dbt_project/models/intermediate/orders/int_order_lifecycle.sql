{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id'
    )
}}
-- One row per order: when it became knowable as placed, shipped and cancelled, from the
-- order's versions (status changes re-emit the order). Each date is the day the warehouse
-- learned it, so a status change loaded late is never seen early. Incremental: orders with a
-- new version are rebuilt from all their versions.
with

order_versions as (

    {%- if is_incremental() %}
    {{ rows_with_keys(
        ref('stg_marketplace__order_versions'),
        'order_id',
        'select order_id from ' ~ ref('stg_marketplace__order_versions') ~ ' where ingested_at > ' ~ ingested_through(),
    ) }}
    {%- else %}
    select * from {{ ref('stg_marketplace__order_versions') }}
    {%- endif %}

),

lifecycle as (

    select
        order_id,
        min(loaded_at) as first_loaded_at,
        min(case when order_status in ('shipped', 'delivered') then loaded_at end) as shipped_loaded_at,
        min(case when order_status in ('shipped', 'delivered') then coalesce(shipped_at, delivered_at) end)
            as shipped_at,
        min(case when order_status = 'cancelled' then loaded_at end) as cancelled_loaded_at
    from order_versions
    group by order_id

),

first_version as (

    -- The facts of an order (who, what, how much) are fixed when it is placed.
    select *
    from order_versions
    qualify row_number() over (partition by order_id order by loaded_at) = 1

),

dated as (

    select
        first_version.*,
        lifecycle.shipped_loaded_at,
        lifecycle.shipped_at as first_shipped_at,
        lifecycle.cancelled_loaded_at,
        {{ visible_date('first_version.created_at', 'lifecycle.first_loaded_at') }} as placed_date
    from first_version
    inner join lifecycle
        on lifecycle.order_id = first_version.order_id

),

orders as (

    select
        order_id,
        buyer_id,
        seller_id,
        stream_id,
        listing_id,
        created_at,
        amount_usd,
        payment_method_id,
        shipping_address_hash,
        placed_date,
        case
            when shipped_loaded_at is not null
                then {{ visible_date('coalesce(first_shipped_at, shipped_loaded_at)', 'shipped_loaded_at') }}
        end as shipped_date,
        {{ hours_between('created_at', 'first_shipped_at') }} as ship_delay_hours,
        -- Whole seconds, so sums of delays are exact in any order (incremental = full build).
        {{ dbt.datediff('created_at', 'first_shipped_at', 'second') }} as ship_delay_seconds,
        cast(cancelled_loaded_at as date) as cancelled_date,
        {{ staged_through([ref('stg_marketplace__order_versions')]) }} as _ingested_through
    from dated

)

select * from orders {{ in_order_of('placed_date') }}
