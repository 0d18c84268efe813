{{ config(materialized='ephemeral') }}
-- Seller behaviour per as-of point: orders sold, shipped and cancelled (selling tile), orders
-- due for shipping and overdue on the day (from the open orders), refunds and non-delivery
-- claims as a seller (disputes tile), reports received (reports tile) and shows hosted
-- (hosting tile).
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

point_accounts as (

    select distinct account_id from points

),

due_intervals as (

    -- An order is due once it is `ship_sla_days` old and stays in the due population for a
    -- month; it is overdue from then until it ships or is cancelled (as learned).
    select
        orders.seller_id as account_id,
        greatest({{ add_days('cast(orders.created_at as date)', var('ship_sla_days')) }}, orders.placed_date) as due_from,
        {{ add_days('cast(orders.created_at as date)', 31) }} as due_until,
        least(
            coalesce(orders.shipped_date, cast('9999-12-31' as date)),
            coalesce(orders.cancelled_date, cast('9999-12-31' as date)),
            {{ add_days('cast(orders.created_at as date)', 31) }}
        ) as overdue_until
    from {{ ref('int_order_lifecycle') }} as orders
    inner join point_accounts on point_accounts.account_id = orders.seller_id
    cross join bounds
    where cast(orders.created_at as date) between {{ add_days('bounds.start_date', -31) }} and bounds.end_date
        -- Implied (an order is placed on or after its creation day, and one placed after the
        -- last as-of day is never due by then), but on the column the orders are stored by.
        {{ within_known_days('orders.placed_date', 31) }}

),

due_deltas as (

    -- Due and overdue counts as +1/-1 from the first as-of day on (earlier starts count from it).
    select
        due_intervals.account_id,
        greatest(due_intervals.due_from, bounds.start_date) as activity_date,
        1 as orders_due_delta,
        case when due_intervals.overdue_until > greatest(due_intervals.due_from, bounds.start_date) then 1 else 0 end
            as orders_overdue_delta
    from due_intervals
    cross join bounds
    where due_intervals.due_until > due_intervals.due_from
        and due_intervals.due_until > bounds.start_date
        and due_intervals.due_from <= bounds.end_date
    union all
    select due_intervals.account_id, due_intervals.due_until, -1, 0
    from due_intervals
    cross join bounds
    where due_intervals.due_until > due_intervals.due_from
        and due_intervals.due_until > bounds.start_date
        and due_intervals.due_from <= bounds.end_date
    union all
    select due_intervals.account_id, due_intervals.overdue_until, 0, -1
    from due_intervals
    cross join bounds
    where due_intervals.due_until > due_intervals.due_from
        and due_intervals.overdue_until > greatest(due_intervals.due_from, bounds.start_date)
        and due_intervals.due_from <= bounds.end_date

),

{{ timeline('selling', 'points', 'bounds', [
    {
        'relation': ref('int_orders_sold_daily'),
        'windows': {
            'orders_sold': [7, 30],
            'gmv_usd': [30],
            'orders_shipped': [30],
            'ship_delay_seconds_total': [30],
            'orders_cancelled': [30],
        },
        'running': ['orders_sold'],
        'totals': ['orders_sold_total'],
        'lookback_days': 29,
    },
    {
        'relation': ref('int_disputes_daily'),
        'windows': {
            'refunds_as_seller': [30],
            'not_received_refunds_as_seller': [30],
            'not_received_chargebacks_as_seller': [30],
        },
        'running': ['chargebacks_as_seller'],
        'totals': ['chargebacks_as_seller_total'],
        'lookback_days': 29,
    },
    {
        'relation': ref('int_user_reports_daily'),
        'windows': {'reports_received': [30], 'scam_reports_received': [30], 'shill_reports_received': [30]},
        'lookback_days': 29,
    },
    {'relation': ref('int_livestreams_daily'), 'windows': {'streams_hosted': [30]}, 'lookback_days': 29},
    {'relation': 'due_deltas', 'running': ['orders_due_delta', 'orders_overdue_delta']},
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ trailing('orders_sold', 7) }} as orders_sold_7d,
        {{ trailing('orders_sold', 30) }} as orders_sold_30d,
        {{ to_date('orders_sold_total_opening') }} + {{ to_date('orders_sold') }} as orders_sold_total,
        {{ trailing('gmv_usd', 30) }} as gmv_usd_30d,
        {{ trailing('orders_shipped', 30) }} as orders_shipped_30d,
        {{ trailing('ship_delay_seconds_total', 30) }} as ship_delay_seconds_total_30d,
        {{ trailing('orders_cancelled', 30) }} as orders_cancelled_30d,
        {{ to_date('orders_due_delta') }} as orders_due,
        {{ to_date('orders_overdue_delta') }} as orders_overdue,
        {{ trailing('refunds_as_seller', 30) }} as refunds_as_seller_30d,
        {{ trailing('not_received_refunds_as_seller', 30) }}
            + {{ trailing('not_received_chargebacks_as_seller', 30) }} as not_received_claims_30d,
        {{ to_date('chargebacks_as_seller_total_opening') }} + {{ to_date('chargebacks_as_seller') }}
            as chargebacks_as_seller_total,
        {{ trailing('reports_received', 30) }} as reports_received_30d,
        {{ trailing('scam_reports_received', 30) }} as scam_reports_received_30d,
        {{ trailing('shill_reports_received', 30) }} as shill_reports_received_30d,
        {{ trailing('streams_hosted', 30) }} as streams_hosted_30d
    from selling_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        orders_sold_7d,
        orders_sold_30d,
        orders_sold_total,
        gmv_usd_30d,
        -- Last 7 days against the 23 days before them, scaled to 7 days.
        {{ safe_ratio('orders_sold_7d', '(orders_sold_30d - orders_sold_7d) * 7.0 / 23') }} as orders_sold_7d_vs_baseline,
        orders_due as orders_due_for_shipping,
        {{ safe_ratio('orders_overdue', 'orders_due') }} as overdue_shipping_share,
        {{ safe_ratio('ship_delay_seconds_total_30d / 3600.0', 'orders_shipped_30d') }} as avg_ship_delay_hours_30d,
        orders_cancelled_30d,
        {{ safe_ratio('refunds_as_seller_30d', 'orders_sold_30d') }} as refund_rate_as_seller_30d,
        {{ safe_ratio('not_received_claims_30d', 'orders_sold_30d') }} as not_received_rate_30d,
        chargebacks_as_seller_total,
        reports_received_30d,
        scam_reports_received_30d,
        shill_reports_received_30d,
        streams_hosted_30d
    from windowed
    where is_point = 1

)

select * from features
