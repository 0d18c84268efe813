{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Seller behaviour per seller per day: orders sold, shipped and cancelled (as learned), with the
-- running total of orders sold: the selling tile. Orders due for shipping on a day are a state
-- of open orders, read from int_order_lifecycle by the feature models, not a tile. Incremental:
-- the tiles of changed accounts are rebuilt from the first day that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
orders as (

    select orders.*
    from {{ ref('int_order_lifecycle') }} as orders
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = orders.seller_id
        and (
            orders.placed_date >= changed_accounts.changed_from
            or orders.shipped_date >= changed_accounts.changed_from
            or orders.cancelled_date >= changed_accounts.changed_from
        )
    {%- endif %}

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
        sum(ship_delay_seconds) as ship_delay_seconds_total
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

days as (

    select account_id, activity_date from sold
    union
    select account_id, activity_date from shipped
    union
    select account_id, activity_date from cancelled

),

per_day as (

    select
        days.account_id,
        days.activity_date,
        coalesce(sold.orders_sold, 0) as orders_sold,
        coalesce(sold.gmv_usd, 0) as gmv_usd,
        coalesce(shipped.orders_shipped, 0) as orders_shipped,
        coalesce(shipped.ship_delay_seconds_total, 0) as ship_delay_seconds_total,
        coalesce(cancelled.orders_cancelled, 0) as orders_cancelled
    from days
    left join sold
        on sold.account_id = days.account_id and sold.activity_date = days.activity_date
    left join shipped
        on shipped.account_id = days.account_id and shipped.activity_date = days.activity_date
    left join cancelled
        on cancelled.account_id = days.account_id and cancelled.activity_date = days.activity_date

),

{{ rebuild_tiles('per_day', {'orders_sold': 'orders_sold_total'}) }}
