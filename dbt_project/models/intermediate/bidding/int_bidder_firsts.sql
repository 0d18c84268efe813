{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['bidder_id', 'first_of', 'target_id']
    )
}}
-- Each bidder's first bid on each listing and on each show (by the day it became knowable,
-- then bid id): "lots bid" and "shows bid" count these. Grain: one row per (bidder_id,
-- first_of, target_id). Incremental: a first can only move earlier (a bid staged later, or
-- loaded earlier than first thought), so new bids are merged with the stored first.
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
    from {{ this }} as stored
    inner join (select distinct bidder_id, first_of, target_id from targets) as touched
        on touched.bidder_id = stored.bidder_id
        and touched.first_of = stored.first_of
        and touched.target_id = stored.target_id

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
        partition by bidder_id, first_of, target_id order by activity_date, bid_id
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

)

select * from final {{ in_order_of('first_bid_date') }}
