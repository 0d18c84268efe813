-- Seller behaviour per seller per day: orders sold, shipping, cancellations, and orders
-- overdue for shipping (as known at the end of each day).
with

orders as (

    select * from {{ ref('int_order_lifecycle') }}

),

sold as (

    select
        seller_id as account_id,
        placed_date as activity_date,
        count(*) as orders_sold,
        sum(amount_usd) as gmv_usd
    from orders
    group by seller_id, placed_date

),

shipped as (

    select
        seller_id as account_id,
        shipped_date as activity_date,
        count(*) as orders_shipped,
        sum(ship_delay_hours) as ship_delay_hours_total
    from orders
    where shipped_date is not null
    group by seller_id, shipped_date

),

cancelled as (

    select
        seller_id as account_id,
        cancelled_date as activity_date,
        count(*) as orders_cancelled
    from orders
    where cancelled_date is not null
    group by seller_id, cancelled_date

),

due_intervals as (

    -- An order is due once it is `ship_sla_days` old and stays in the due population for a
    -- month; it is overdue from then until it ships or is cancelled (as learned).
    select
        seller_id as account_id,
        greatest({{ add_days('cast(created_at as date)', var('ship_sla_days')) }}, placed_date) as due_from,
        {{ add_days('cast(created_at as date)', 31) }} as due_until,
        least(
            coalesce(shipped_date, cast('9999-12-31' as date)),
            coalesce(cancelled_date, cast('9999-12-31' as date)),
            {{ add_days('cast(created_at as date)', 31) }}
        ) as overdue_until
    from orders

),

due_deltas as (

    select account_id, due_from as activity_date, 1 as orders_due_delta,
        case when overdue_until > due_from then 1 else 0 end as orders_overdue_delta
    from due_intervals
    where due_until > due_from
    union all
    select account_id, due_until, -1, 0
    from due_intervals
    where due_until > due_from
    union all
    select account_id, overdue_until, 0, -1
    from due_intervals
    where due_until > due_from and overdue_until > due_from

),

due_per_day as (

    select
        account_id,
        activity_date,
        sum(orders_due_delta) as orders_due_delta,
        sum(orders_overdue_delta) as orders_overdue_delta
    from due_deltas
    group by account_id, activity_date

),

days as (

    select account_id, activity_date from sold
    union
    select account_id, activity_date from shipped
    union
    select account_id, activity_date from cancelled
    union
    select account_id, activity_date from due_per_day

),

joined as (

    select
        days.account_id,
        days.activity_date,
        coalesce(sold.orders_sold, 0) as orders_sold,
        coalesce(sold.gmv_usd, 0) as gmv_usd,
        coalesce(shipped.orders_shipped, 0) as orders_shipped,
        coalesce(shipped.ship_delay_hours_total, 0) as ship_delay_hours_total,
        coalesce(cancelled.orders_cancelled, 0) as orders_cancelled,
        coalesce(due_per_day.orders_due_delta, 0) as orders_due_delta,
        coalesce(due_per_day.orders_overdue_delta, 0) as orders_overdue_delta
    from days
    left join sold
        on sold.account_id = days.account_id and sold.activity_date = days.activity_date
    left join shipped
        on shipped.account_id = days.account_id and shipped.activity_date = days.activity_date
    left join cancelled
        on cancelled.account_id = days.account_id and cancelled.activity_date = days.activity_date
    left join due_per_day
        on due_per_day.account_id = days.account_id and due_per_day.activity_date = days.activity_date

)

select * from joined
