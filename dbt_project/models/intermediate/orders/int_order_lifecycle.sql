{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id'
    )
}}
-- One row per order: when it became knowable as placed, shipped and cancelled, from the
-- order's versions (status changes re-emit the order). Each date is the day the warehouse
-- learned it, so a status change loaded late is never seen early. The row keeps the earliest
-- load of each kind (its running state), so an incremental run merges an order's new versions
-- with its stored row instead of re-reading every version: every date is a minimum over the
-- versions, which is the same in any number of steps.
{%- if execute and is_incremental() %}
{%- set state = ['first_loaded_at', 'shipped_loaded_at', 'first_shipped_at', 'cancelled_loaded_at'] %}
{%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
{%- if state | reject('in', stored_columns) | list %}
    {{ exceptions.raise_compiler_error(
        this ~ " has no " ~ (state | reject('in', stored_columns) | join(', '))
        ~ " (it predates the order lifecycle's running state): rebuild it with"
        ~ " `dbt run --full-refresh --select int_order_lifecycle`"
    ) }}
{%- endif %}
{%- endif %}
with

new_versions as (

    select * from {{ ref('stg_marketplace__order_versions') }}
    {%- if is_incremental() %}
    where ingested_at > {{ ingested_through() }}
    {%- endif %}

),

versions as (

    -- Each version's facts and what it tells about the order's loads.
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
        loaded_at as first_loaded_at,
        case when order_status in ('shipped', 'delivered') then loaded_at end as shipped_loaded_at,
        case when order_status in ('shipped', 'delivered') then coalesce(shipped_at, delivered_at) end
            as first_shipped_at,
        case when order_status = 'cancelled' then loaded_at end as cancelled_loaded_at,
        0 as is_stored
    from new_versions
    {%- if is_incremental() %}
    union all
    -- The stored row of each of those orders: its first version's facts and its earliest loads.
    select
        stored.order_id,
        stored.buyer_id,
        stored.seller_id,
        stored.stream_id,
        stored.listing_id,
        stored.created_at,
        stored.amount_usd,
        stored.payment_method_id,
        stored.shipping_address_hash,
        stored.first_loaded_at,
        stored.shipped_loaded_at,
        stored.first_shipped_at,
        stored.cancelled_loaded_at,
        1 as is_stored
    from (
        {{ rows_with_keys(this, 'order_id', 'select order_id from new_versions') }}
    ) as stored
    {%- endif %}

),

lifecycle as (

    select
        order_id,
        min(first_loaded_at) as first_loaded_at,
        min(shipped_loaded_at) as shipped_loaded_at,
        min(first_shipped_at) as first_shipped_at,
        min(cancelled_loaded_at) as cancelled_loaded_at
    from versions
    group by order_id

),

first_version as (

    -- The facts of an order (who, what, how much) are fixed when it is placed: the first
    -- version's (the stored row's on a tie: it holds the first version seen).
    select *
    from versions
    qualify row_number() over (partition by order_id order by first_loaded_at, is_stored desc) = 1

),

orders as (

    select
        first_version.order_id,
        first_version.buyer_id,
        first_version.seller_id,
        first_version.stream_id,
        first_version.listing_id,
        first_version.created_at,
        first_version.amount_usd,
        first_version.payment_method_id,
        first_version.shipping_address_hash,
        {{ visible_date('first_version.created_at', 'lifecycle.first_loaded_at') }} as placed_date,
        case
            when lifecycle.shipped_loaded_at is not null
                then {{ visible_date(
                    'coalesce(lifecycle.first_shipped_at, lifecycle.shipped_loaded_at)',
                    'lifecycle.shipped_loaded_at'
                ) }}
        end as shipped_date,
        {{ hours_between('first_version.created_at', 'lifecycle.first_shipped_at') }} as ship_delay_hours,
        -- Whole seconds, so sums of delays are exact in any order (incremental = full build).
        {{ dbt.datediff('first_version.created_at', 'lifecycle.first_shipped_at', 'second') }} as ship_delay_seconds,
        cast(lifecycle.cancelled_loaded_at as date) as cancelled_date,
        lifecycle.first_loaded_at,
        lifecycle.shipped_loaded_at,
        lifecycle.first_shipped_at,
        lifecycle.cancelled_loaded_at,
        {{ staged_through([ref('stg_marketplace__order_versions')]) }} as _ingested_through
    from first_version
    inner join lifecycle
        on lifecycle.order_id = first_version.order_id

)

select * from orders {{ in_order_of('placed_date') }}
