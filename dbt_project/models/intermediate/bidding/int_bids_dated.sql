{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='bid_id'
    )
}}
-- Every bid with the seller of its show and the two days that date it: when the bid became
-- knowable (activity_date) and when its show (and so its seller) was known too
-- (attributed_date; null while the show is unknown). Incremental: new bids, and the bids of
-- shows staged since the last run.
with

bids as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__bids') }}

),

livestreams as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

{% if is_incremental() -%}
changed_bids as (

    select bid_id from bids where ingested_at > {{ ingested_through() }}
    union
    select bids.bid_id
    from bids
    where bids.stream_id in (
        select stream_id from livestreams where ingested_at > {{ ingested_through() }}
    )

),

{% endif -%}
dated_bids as (

    select
        bids.bid_id,
        bids.bidder_id,
        bids.stream_id,
        bids.listing_id,
        livestreams.seller_id,
        {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }} as activity_date,
        case
            when livestreams.stream_id is not null then greatest(
                {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }},
                {{ visible_date('livestreams.started_at', 'livestreams.first_loaded_at') }}
            )
        end as attributed_date,
        {{ staged_through([ref('stg_marketplace__bids'), ref('stg_marketplace__livestreams')]) }} as _ingested_through
    from bids
    left join livestreams
        on livestreams.stream_id = bids.stream_id
    {%- if is_incremental() %}
    where bids.bid_id in (select bid_id from changed_bids)
    {%- endif %}

)

select * from dated_bids {{ in_order_of('activity_date') }}
