{{
    config(
        materialized='incremental',
        incremental_strategy='append'
    )
}}
-- The change log of the incremental engine: after each run, one row per account whose tiles
-- may have changed, with the first day that may have changed. Every tile model re-opens the
-- tiles of the accounts logged since its own last run, from that day on (see README.md,
-- "Incremental feature engine"). Append-only: a model that missed runs reads every entry it
-- has not processed. A full build logs every account from its first day.
--
-- Who an ingested row can touch, and from which day:
--   login, card, show, bid, report, action, profile version -> its accounts, from the day it
--     became knowable (a row can only move earlier: its first load can only move earlier);
--   card -> also the buyers of orders paid with it on or after that day (card attributes);
--   show -> also everyone who bid on it (their bids' seller side is dated by the show);
--   bid -> also the show's host, from the day both were known;
--   order version -> the buyer from the day the order was placed if it is the order's first
--     version, the seller from the version's load day or the order's shipping day;
--   refund, chargeback -> buyer and seller of the order, from the day it is attributed;
--   identifier gaining or moving accounts -> its first (link cap + changes) accounts, from the
--     first changed sighting (their links, hence their linked bids).
{%- set max_accounts = var('link_entity_max_accounts') %}
{%- set order_lifecycles = 'named_lifecycles' if is_incremental() else 'lifecycle' %}
{%- set since = ingested_through() if is_incremental() else "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" %}
with

logins as (

    select * from {{ ref('stg_marketplace__logins') }} where ingested_at > {{ since }}

),

payment_methods as (

    select * from {{ ref('stg_marketplace__payment_methods') }} where ingested_at > {{ since }}

),

livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }} where ingested_at > {{ since }}

),

bids as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__bids') }} where ingested_at > {{ since }}

),

order_versions as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__order_versions') }} where ingested_at > {{ since }}

),

refunds as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__refunds') }} where ingested_at > {{ since }}

),

chargebacks as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__chargebacks') }} where ingested_at > {{ since }}

),

user_reports as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__user_reports') }} where ingested_at > {{ since }}

),

enforcement_actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }} where ingested_at > {{ since }}

),

account_versions as (

    select * from {{ ref('stg_marketplace__account_versions') }} where ingested_at > {{ since }}

),

all_bids as (

    select * from {{ ref('stg_marketplace__bids') }}

),

all_livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

lifecycle as {{ inlined() }} (

    select * from {{ ref('int_order_lifecycle') }}

),

{% if is_incremental() -%}
-- The lifecycles of the orders the run's versions, refunds and chargebacks name, looked up on
-- the order id column alone (macros/incremental.sql): a day names a small share of all orders.
-- A full build names them all and reads `lifecycle`.
named_lifecycles as (

    {{ rows_with_keys(ref('int_order_lifecycle'), 'order_id',
        'select order_id from order_versions union all select order_id from refunds'
        ~ ' union all select order_id from chargebacks') }}

),

{% endif -%}
entities as {{ inlined() }} (

    select * from {{ ref('int_account_entities') }}
    where entity_type in ('device', 'card', 'address', 'ip')

),

dated_cards as (

    select
        payment_method_id,
        account_id,
        {{ visible_date('added_at', 'first_loaded_at') }} as changed_from
    from payment_methods

),

dated_shows as (

    select
        stream_id,
        seller_id,
        {{ visible_date('started_at', 'first_loaded_at') }} as changed_from
    from livestreams

),

changed_identifiers as (

    select entity_type, entity_id, count(*) as changed_accounts, min(first_seen_date) as changed_from
    from entities
    where _ingested_through > {{ since }}
    group by entity_type, entity_id

),

identifier_members as (

    select
        entities.account_id,
        changed_identifiers.changed_from,
        changed_identifiers.changed_accounts,
        row_number() over (
            partition by entities.entity_type, entities.entity_id
            order by entities.first_seen_date, entities.account_id
        ) as arrival_rank
    from entities
    inner join changed_identifiers
        on changed_identifiers.entity_type = entities.entity_type
        and changed_identifiers.entity_id = entities.entity_id

),

touches as (

    select account_id, {{ visible_date('occurred_at', 'first_loaded_at') }} as changed_from
    from logins
    union all
    select account_id, changed_from from dated_cards
    union all
    select lifecycle.buyer_id, dated_cards.changed_from
    from dated_cards
    inner join lifecycle
        on lifecycle.payment_method_id = dated_cards.payment_method_id
        and lifecycle.placed_date >= dated_cards.changed_from
    union all
    select seller_id, changed_from from dated_shows
    union all
    select all_bids.bidder_id, dated_shows.changed_from
    from dated_shows
    inner join all_bids on all_bids.stream_id = dated_shows.stream_id
    union all
    select bidder_id, {{ visible_date('occurred_at', 'first_loaded_at') }}
    from bids
    union all
    select
        all_livestreams.seller_id,
        greatest(
            {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }},
            {{ visible_date('all_livestreams.started_at', 'all_livestreams.first_loaded_at') }}
        )
    from bids
    inner join all_livestreams on all_livestreams.stream_id = bids.stream_id
    union all
    -- The order's first version (its earliest load, kept by the lifecycle) touches the buyer.
    select lifecycle.buyer_id, lifecycle.placed_date
    from order_versions
    inner join {{ order_lifecycles }} as lifecycle
        on lifecycle.order_id = order_versions.order_id
        and lifecycle.first_loaded_at = order_versions.loaded_at
    union all
    select
        lifecycle.seller_id,
        case
            when order_versions.order_status in ('shipped', 'delivered')
                then least(cast(order_versions.loaded_at as date), lifecycle.shipped_date)
            else cast(order_versions.loaded_at as date)
        end
    from order_versions
    inner join {{ order_lifecycles }} as lifecycle on lifecycle.order_id = order_versions.order_id
    union all
    select lifecycle.buyer_id, greatest({{ visible_date('refunds.created_at', 'refunds.first_loaded_at') }}, lifecycle.placed_date)
    from refunds
    inner join {{ order_lifecycles }} as lifecycle on lifecycle.order_id = refunds.order_id
    union all
    select lifecycle.seller_id, greatest({{ visible_date('refunds.created_at', 'refunds.first_loaded_at') }}, lifecycle.placed_date)
    from refunds
    inner join {{ order_lifecycles }} as lifecycle on lifecycle.order_id = refunds.order_id
    union all
    select lifecycle.buyer_id, greatest({{ visible_date('chargebacks.reported_at', 'chargebacks.first_loaded_at') }}, lifecycle.placed_date)
    from chargebacks
    inner join {{ order_lifecycles }} as lifecycle on lifecycle.order_id = chargebacks.order_id
    union all
    select lifecycle.seller_id, greatest({{ visible_date('chargebacks.reported_at', 'chargebacks.first_loaded_at') }}, lifecycle.placed_date)
    from chargebacks
    inner join {{ order_lifecycles }} as lifecycle on lifecycle.order_id = chargebacks.order_id
    union all
    select reporter_id, {{ visible_date('occurred_at', 'first_loaded_at') }} from user_reports
    union all
    select reported_id, {{ visible_date('occurred_at', 'first_loaded_at') }} from user_reports
    union all
    select account_id, {{ visible_date('occurred_at', 'first_loaded_at') }} from enforcement_actions
    union all
    select account_id, {{ visible_date('created_at', 'loaded_at') }} from account_versions
    union all
    select account_id, changed_from
    from identifier_members
    where arrival_rank <= {{ max_accounts }} + changed_accounts

),

changes as (

    select
        account_id,
        min(changed_from) as changed_from,
        {{ staged_through_since(since, [
            ref('stg_marketplace__logins'),
            ref('stg_marketplace__payment_methods'),
            ref('stg_marketplace__livestreams'),
            ref('stg_marketplace__bids'),
            ref('stg_marketplace__order_versions'),
            ref('stg_marketplace__refunds'),
            ref('stg_marketplace__chargebacks'),
            ref('stg_marketplace__user_reports'),
            ref('stg_marketplace__enforcement_actions'),
            ref('stg_marketplace__account_versions'),
        ]) }} as _ingested_through
    from touches
    where account_id is not null and changed_from is not null
    group by account_id

)

select * from changes
