{{ config(materialized='ephemeral') }}
-- Buying velocity per as-of point: orders, spend and order flags over 1 to 90 days (buying
-- tile), disputes as a buyer (disputes tile) and distinct sellers bought from in the last 7 and
-- 30 days (from the orders themselves).
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

orders as (

    select * from {{ ref('int_order_lifecycle') }}

),

seller_occurrences as (

    select distinct orders.buyer_id as account_id, orders.seller_id as entity_id, orders.placed_date as activity_date
    from orders
    inner join point_accounts on point_accounts.account_id = orders.buyer_id
    cross join bounds
    where orders.placed_date between {{ add_days('bounds.start_date', -29) }} and bounds.end_date
        {{- within_known_days('orders.placed_date', 29) }}

),

distinct_sellers_7d as (

    {{ distinct_in_window_deltas('seller_occurrences', 7, 'distinct_sellers_7d_delta') }}

),

distinct_sellers_30d as (

    {{ distinct_in_window_deltas('seller_occurrences', 30, 'distinct_sellers_30d_delta') }}

),

{{ timeline('buying', 'points', 'bounds', [
    {
        'relation': ref('int_orders_bought_daily'),
        'windows': {
            'orders_placed': [1, 7, 30],
            'spend_usd': [1, 7, 30, 90],
            'high_value_orders': [7],
            'small_orders': [30],
            'orders_to_new_address': [30],
            'orders_with_foreign_card': [30],
            'orders_with_prepaid_card': [30],
            'orders_after_new_device_login': [7],
        },
        'running': ['orders_placed'],
        'totals': ['orders_placed_total'],
        'lookback_days': 89,
    },
    {
        'relation': ref('int_disputes_daily'),
        'windows': {'refunds_as_buyer': [30]},
        'running': ['chargebacks_as_buyer', 'fraud_chargebacks_as_buyer'],
        'totals': ['chargebacks_as_buyer_total', 'fraud_chargebacks_as_buyer_total'],
        'lookback_days': 29,
    },
    {'relation': 'distinct_sellers_7d', 'running': ['distinct_sellers_7d_delta']},
    {'relation': 'distinct_sellers_30d', 'running': ['distinct_sellers_30d_delta']},
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        cast({{ trailing('orders_placed', 1) }} as {{ dbt.type_bigint() }}) as orders_placed_1d,
        {{ trailing('orders_placed', 7) }} as orders_placed_7d,
        {{ trailing('orders_placed', 30) }} as orders_placed_30d,
        {{ to_date('orders_placed_total_opening') }} + {{ to_date('orders_placed') }} as orders_placed_total,
        {{ trailing('spend_usd', 1) }} as spend_usd_1d,
        {{ trailing('spend_usd', 7) }} as spend_usd_7d,
        {{ trailing('spend_usd', 30) }} as spend_usd_30d,
        {{ trailing('spend_usd', 90) }} as spend_usd_90d,
        {{ to_date('distinct_sellers_7d_delta') }} as distinct_sellers_7d,
        {{ to_date('distinct_sellers_30d_delta') }} as distinct_sellers_30d,
        {{ trailing('high_value_orders', 7) }} as high_value_orders_7d,
        {{ trailing('small_orders', 30) }} as small_orders_30d,
        {{ trailing('orders_to_new_address', 30) }} as orders_to_new_address_30d,
        {{ trailing('orders_with_foreign_card', 30) }} as orders_with_foreign_card_30d,
        {{ trailing('orders_with_prepaid_card', 30) }} as orders_with_prepaid_card_30d,
        {{ trailing('orders_after_new_device_login', 7) }} as orders_after_new_device_login_7d,
        {{ trailing('refunds_as_buyer', 30) }} as refunds_as_buyer_30d,
        {{ to_date('chargebacks_as_buyer_total_opening') }} + {{ to_date('chargebacks_as_buyer') }}
            as chargebacks_as_buyer_total,
        {{ to_date('fraud_chargebacks_as_buyer_total_opening') }} + {{ to_date('fraud_chargebacks_as_buyer') }}
            as fraud_chargebacks_as_buyer_total
    from buying_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        orders_placed_1d,
        orders_placed_7d,
        orders_placed_30d,
        orders_placed_total,
        spend_usd_1d,
        spend_usd_7d,
        spend_usd_30d,
        spend_usd_90d,
        -- Last 7 days against the 83 days before them, scaled to 7 days; null without a baseline.
        {{ safe_ratio('spend_usd_7d', '(spend_usd_90d - spend_usd_7d) * 7.0 / 83') }} as spend_7d_vs_baseline,
        distinct_sellers_7d,
        distinct_sellers_30d,
        high_value_orders_7d,
        small_orders_30d,
        orders_to_new_address_30d,
        orders_with_foreign_card_30d,
        orders_with_prepaid_card_30d,
        orders_after_new_device_login_7d,
        refunds_as_buyer_30d,
        chargebacks_as_buyer_total,
        fraud_chargebacks_as_buyer_total
    from windowed
    where is_point = 1

)

select * from features
