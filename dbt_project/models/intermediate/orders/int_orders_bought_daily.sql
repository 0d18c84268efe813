{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Buying velocity per buyer per day (the day each order became knowable), with the running
-- total of orders placed: the buying tile. Card and buyer attributes count only if they were
-- already known when the order was. Incremental: the tiles of changed accounts are rebuilt
-- from the first day that may have changed.
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
        on changed_accounts.account_id = orders.buyer_id
        and orders.placed_date >= changed_accounts.changed_from
    where orders.placed_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

payment_methods as (

    select * from {{ ref('stg_marketplace__payment_methods') }}

),

accounts as (

    select * from {{ ref('int_account_profiles_versioned') }}

),

entities as {{ inlined() }} (

    select * from {{ ref('int_account_entities') }}
    where entity_type = 'address'

),

new_device_logins as (

    select * from {{ ref('int_new_device_logins') }}

),

first_address as (

    select account_id, min(first_seen_date) as first_address_date
    from entities
    group by account_id

),

with_attributes as (

    select
        orders.*,
        payment_methods.card_type,
        payment_methods.card_country_code,
        accounts.country_code as buyer_country_code
    from orders
    left join payment_methods
        on payment_methods.payment_method_id = orders.payment_method_id
        and {{ visible_date('payment_methods.added_at', 'payment_methods.first_loaded_at') }} <= orders.placed_date
    left join accounts
        on accounts.account_id = orders.buyer_id
        and orders.placed_date between accounts.valid_from_date and accounts.valid_to_date

),

flagged_orders as (

    -- A shipping address change: an address first used that day by an account that had
    -- shipped elsewhere before.
    select
        with_attributes.*,
        coalesce(
            addresses.first_seen_date = with_attributes.placed_date
            and first_address.first_address_date < with_attributes.placed_date,
            false
        ) as is_new_address,
        coalesce(with_attributes.card_country_code <> with_attributes.buyer_country_code, false) as is_foreign_card
    from with_attributes
    left join entities as addresses
        on addresses.account_id = with_attributes.buyer_id
        and addresses.entity_id = with_attributes.shipping_address_hash
    left join first_address
        on first_address.account_id = with_attributes.buyer_id

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

{{ rebuild_tiles('per_day', {'orders_placed': 'orders_placed_total'}) }}
