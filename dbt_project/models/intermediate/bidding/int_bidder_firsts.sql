{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key=['bidder_id', 'first_of', 'target_id'],
        replace_range='first_bid_date'
    )
}}
-- Each bidder's first bid on each listing and on each show (by the day it became knowable,
-- then bid id): "lots bid" and "shows bid" count these. Grain: one row per (bidder_id,
-- first_of, target_id). Incremental: a first can only move earlier (a bid staged later, or
-- loaded earlier than first thought), so new bids are merged with the stored first, and only
-- the firsts that moved are written: a key's stored row is replaced from the new first's day
-- (`replace`), so the delete reads the recent days of the table, not all 20 million rows of
-- a 200,000-account history.
with

bids as {{ inlined() }} (

    select * from {{ ref('int_bids_dated') }}
    {%- if is_incremental() %}
    where _ingested_through > {{ ingested_through() }}
    {%- endif %}

),

targets as (

    select bidder_id, 'listing' as first_of, listing_id as target_id, activity_date, bid_id from bids
    union all
    select bidder_id, 'stream', stream_id, activity_date, bid_id from bids

),

{% if is_incremental() -%}
candidates as (

    select targets.*, false as is_stored from targets
    union all
    select stored.bidder_id, stored.first_of, stored.target_id, stored.first_bid_date, stored.first_bid_id, true
    from ({{ rows_with_keys(this, ['bidder_id', 'first_of', 'target_id'], 'select bidder_id, first_of, target_id from targets') }}) as stored

),

{% else -%}
candidates as (

    select targets.*, false as is_stored from targets

),

{% endif -%}
firsts as (

    select
        bidder_id,
        first_of,
        target_id,
        activity_date as first_bid_date,
        bid_id as first_bid_id,
        is_stored
    from candidates
    qualify row_number() over (
        -- The stored row first on a tie (the same bid again): nothing to rewrite.
        partition by bidder_id, first_of, target_id order by activity_date, bid_id, is_stored desc
    ) = 1

),

final as (

    select
        bidder_id,
        first_of,
        target_id,
        first_bid_date,
        first_bid_id,
        {{ ingested_through(ref('int_bids_dated')) }} as _ingested_through
    from firsts
    {%- if is_incremental() %}
    where not is_stored
    {%- endif %}

)

{{ replace_rows('final', none, ['bidder_id', 'first_of', 'target_id'], 'first_bid_date') }}
