-- One row per order: when it became knowable as placed, shipped and cancelled, from the
-- order's versions (status changes re-emit the order). Each date is the day the warehouse
-- learned it, so a status change loaded late is never seen early.
with

order_versions as (

    select * from {{ ref('stg_marketplace__order_versions') }}

),

payment_methods as (

    select * from {{ ref('stg_marketplace__payment_methods') }}

),

accounts as (

    select * from {{ ref('int_account_profiles_versioned') }}

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

    -- Card and buyer attributes count only if they were already known when the order was.
    select
        dated.order_id,
        dated.buyer_id,
        dated.seller_id,
        dated.stream_id,
        dated.listing_id,
        dated.created_at,
        dated.amount_usd,
        dated.payment_method_id,
        dated.shipping_address_hash,
        dated.placed_date,
        case
            when dated.shipped_loaded_at is not null
                then {{ visible_date('coalesce(dated.first_shipped_at, dated.shipped_loaded_at)', 'dated.shipped_loaded_at') }}
        end as shipped_date,
        {{ hours_between('dated.created_at', 'dated.first_shipped_at') }} as ship_delay_hours,
        cast(dated.cancelled_loaded_at as date) as cancelled_date,
        payment_methods.card_type,
        payment_methods.card_country_code,
        accounts.country_code as buyer_country_code
    from dated
    left join payment_methods
        on payment_methods.payment_method_id = dated.payment_method_id
        and {{ visible_date('payment_methods.added_at', 'payment_methods.first_loaded_at') }} <= dated.placed_date
    left join accounts
        on accounts.account_id = dated.buyer_id
        and dated.placed_date between accounts.valid_from_date and accounts.valid_to_date

)

select * from orders
