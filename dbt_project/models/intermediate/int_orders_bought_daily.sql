-- Buying velocity per buyer per day (the day each order became knowable).
with

orders as (

    select * from {{ ref('int_order_lifecycle') }}

),

entities as (

    select * from {{ ref('int_account_entities') }}

),

new_device_logins as (

    select * from {{ ref('int_new_device_logins') }}

),

first_address as (

    select account_id, min(first_seen_date) as first_address_date
    from entities
    where entity_type = 'address'
    group by account_id

),

flagged_orders as (

    -- A shipping address change: an address first used that day by an account that had
    -- shipped elsewhere before.
    select
        orders.*,
        coalesce(
            addresses.first_seen_date = orders.placed_date
            and first_address.first_address_date < orders.placed_date,
            false
        ) as is_new_address,
        coalesce(orders.card_country_code <> orders.buyer_country_code, false) as is_foreign_card
    from orders
    left join entities as addresses
        on addresses.account_id = orders.buyer_id
        and addresses.entity_type = 'address'
        and addresses.entity_id = orders.shipping_address_hash
    left join first_address
        on first_address.account_id = orders.buyer_id

),

after_new_device as (

    -- Orders placed within 24h after a successful login from a device new to the account
    -- (known by the day the order became knowable): the classic takeover cash-out.
    select distinct
        flagged_orders.order_id
    from flagged_orders
    inner join new_device_logins
        on new_device_logins.account_id = flagged_orders.buyer_id
        and new_device_logins.occurred_at <= flagged_orders.created_at
        and new_device_logins.occurred_at > {{ dbt.dateadd('hour', -24, 'flagged_orders.created_at') }}
        and new_device_logins.activity_date <= flagged_orders.placed_date

),

per_day as (

    select
        flagged_orders.buyer_id as account_id,
        flagged_orders.placed_date as activity_date,
        count(*) as orders_placed,
        sum(flagged_orders.amount_usd) as spend_usd,
        sum(case when flagged_orders.amount_usd >= {{ var('high_value_order_usd') }} then 1 else 0 end)
            as high_value_orders,
        sum(case when flagged_orders.amount_usd < {{ var('small_order_usd') }} then 1 else 0 end) as small_orders,
        sum(case when flagged_orders.stream_id is not null then 1 else 0 end) as lots_won,
        sum(case when flagged_orders.is_new_address then 1 else 0 end) as orders_to_new_address,
        sum(case when flagged_orders.is_foreign_card then 1 else 0 end) as orders_with_foreign_card,
        sum(case when flagged_orders.card_type = 'prepaid' then 1 else 0 end) as orders_with_prepaid_card,
        sum(case when after_new_device.order_id is not null then 1 else 0 end) as orders_after_new_device_login
    from flagged_orders
    left join after_new_device
        on after_new_device.order_id = flagged_orders.order_id
    group by flagged_orders.buyer_id, flagged_orders.placed_date

),

seller_occurrences as (

    select distinct buyer_id as account_id, seller_id as entity_id, placed_date as activity_date
    from orders

),

distinct_sellers_7d as (

    {{ distinct_in_window_deltas('seller_occurrences', 7, 'distinct_sellers_7d_delta') }}

),

distinct_sellers_30d as (

    {{ distinct_in_window_deltas('seller_occurrences', 30, 'distinct_sellers_30d_delta') }}

),

days as (

    select account_id, activity_date from per_day
    union
    select account_id, activity_date from distinct_sellers_7d
    union
    select account_id, activity_date from distinct_sellers_30d

),

joined as (

    select
        days.account_id,
        days.activity_date,
        coalesce(per_day.orders_placed, 0) as orders_placed,
        coalesce(per_day.spend_usd, 0) as spend_usd,
        coalesce(per_day.high_value_orders, 0) as high_value_orders,
        coalesce(per_day.small_orders, 0) as small_orders,
        coalesce(per_day.lots_won, 0) as lots_won,
        coalesce(per_day.orders_to_new_address, 0) as orders_to_new_address,
        coalesce(per_day.orders_with_foreign_card, 0) as orders_with_foreign_card,
        coalesce(per_day.orders_with_prepaid_card, 0) as orders_with_prepaid_card,
        coalesce(per_day.orders_after_new_device_login, 0) as orders_after_new_device_login,
        coalesce(distinct_sellers_7d.distinct_sellers_7d_delta, 0) as distinct_sellers_7d_delta,
        coalesce(distinct_sellers_30d.distinct_sellers_30d_delta, 0) as distinct_sellers_30d_delta
    from days
    left join per_day
        on per_day.account_id = days.account_id and per_day.activity_date = days.activity_date
    left join distinct_sellers_7d
        on distinct_sellers_7d.account_id = days.account_id
        and distinct_sellers_7d.activity_date = days.activity_date
    left join distinct_sellers_30d
        on distinct_sellers_30d.account_id = days.account_id
        and distinct_sellers_30d.activity_date = days.activity_date

)

select * from joined
