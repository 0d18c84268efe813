{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Refunds and chargebacks per account per day, from both sides of the order: as the buyer
-- and as the seller, dated by when each became knowable, with running totals of chargebacks:
-- the disputes tile. Incremental: the tiles of changed accounts are rebuilt from the first day
-- that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
orders as (

    select * from {{ ref('int_order_lifecycle') }}
    {%- if is_incremental() %}
    where buyer_id in (select account_id from changed_accounts)
        or seller_id in (select account_id from changed_accounts)
    {%- endif %}

),

refunds as (

    select * from {{ ref('stg_marketplace__refunds') }}

),

chargebacks as (

    select * from {{ ref('stg_marketplace__chargebacks') }}

),

disputes as (

    select
        orders.buyer_id,
        orders.seller_id,
        -- Attributed from the day both the refund and its order were known.
        greatest({{ visible_date('refunds.created_at', 'refunds.first_loaded_at') }}, orders.placed_date)
            as activity_date,
        'refund' as dispute_kind,
        refunds.refund_reason as reason
    from refunds
    inner join orders on orders.order_id = refunds.order_id
    union all
    select
        orders.buyer_id,
        orders.seller_id,
        greatest({{ visible_date('chargebacks.reported_at', 'chargebacks.first_loaded_at') }}, orders.placed_date),
        'chargeback',
        chargebacks.chargeback_reason
    from chargebacks
    inner join orders on orders.order_id = chargebacks.order_id

),

as_seller as (

    select
        seller_id as account_id,
        activity_date,
        sum(case when dispute_kind = 'refund' then 1 else 0 end) as refunds_as_seller,
        sum(case when dispute_kind = 'refund' and reason = 'not_received' then 1 else 0 end)
            as not_received_refunds_as_seller,
        sum(case when dispute_kind = 'chargeback' then 1 else 0 end) as chargebacks_as_seller,
        sum(case when dispute_kind = 'chargeback' and reason = 'not_received' then 1 else 0 end)
            as not_received_chargebacks_as_seller
    from disputes
    group by seller_id, activity_date

),

as_buyer as (

    select
        buyer_id as account_id,
        activity_date,
        sum(case when dispute_kind = 'refund' then 1 else 0 end) as refunds_as_buyer,
        sum(case when dispute_kind = 'chargeback' then 1 else 0 end) as chargebacks_as_buyer,
        sum(case when dispute_kind = 'chargeback' and reason = 'fraud' then 1 else 0 end)
            as fraud_chargebacks_as_buyer
    from disputes
    group by buyer_id, activity_date

),

days as (

    select account_id, activity_date from as_seller
    union
    select account_id, activity_date from as_buyer

),

per_day as (

    select
        days.account_id,
        days.activity_date,
        coalesce(as_seller.refunds_as_seller, 0) as refunds_as_seller,
        coalesce(as_seller.not_received_refunds_as_seller, 0) as not_received_refunds_as_seller,
        coalesce(as_seller.chargebacks_as_seller, 0) as chargebacks_as_seller,
        coalesce(as_seller.not_received_chargebacks_as_seller, 0) as not_received_chargebacks_as_seller,
        coalesce(as_buyer.refunds_as_buyer, 0) as refunds_as_buyer,
        coalesce(as_buyer.chargebacks_as_buyer, 0) as chargebacks_as_buyer,
        coalesce(as_buyer.fraud_chargebacks_as_buyer, 0) as fraud_chargebacks_as_buyer
    from days
    left join as_seller
        on as_seller.account_id = days.account_id and as_seller.activity_date = days.activity_date
    left join as_buyer
        on as_buyer.account_id = days.account_id and as_buyer.activity_date = days.activity_date

),

{{ rebuild_tiles('per_day', {
    'chargebacks_as_buyer': 'chargebacks_as_buyer_total',
    'fraud_chargebacks_as_buyer': 'fraud_chargebacks_as_buyer_total',
    'chargebacks_as_seller': 'chargebacks_as_seller_total',
}) }}
