-- Bidding per account per day, from both sides: as a bidder and as the seller whose lots are
-- bid on (including bids from accounts linked to the seller: the shill-bidding signal).
with

bids as (

    select * from {{ ref('stg_marketplace__bids') }}

),

livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

links as (

    select * from {{ ref('int_account_links') }}
    where link_type in ('strong', 'ip')

),

dated_bids as (

    -- activity_date: when the bid became knowable. attributed_date: when its stream (and so
    -- its seller) was known too; seller-side measures wait for that day.
    select
        bids.bid_id,
        bids.bidder_id,
        bids.stream_id,
        bids.listing_id,
        livestreams.seller_id,
        {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }} as activity_date,
        greatest(
            {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }},
            {{ visible_date('livestreams.started_at', 'livestreams.first_loaded_at') }}
        ) as attributed_date
    from bids
    left join livestreams
        on livestreams.stream_id = bids.stream_id

),

linked_bids as (

    -- Bids on a stream whose seller shared a device, card, address or IP with the bidder,
    -- as known on the day of the bid.
    select distinct dated_bids.bid_id
    from dated_bids
    inner join links
        on links.account_id = dated_bids.bidder_id
        and links.linked_account_id = dated_bids.seller_id
        and links.linked_from <= dated_bids.attributed_date
        and links.linked_until > dated_bids.attributed_date

),

flagged_bids as (

    select
        dated_bids.*,
        linked_bids.bid_id is not null as is_linked,
        row_number() over (
            partition by dated_bids.bidder_id, dated_bids.listing_id order by dated_bids.activity_date, dated_bids.bid_id
        ) = 1 as is_first_bid_on_lot,
        row_number() over (
            partition by dated_bids.bidder_id, dated_bids.stream_id order by dated_bids.activity_date, dated_bids.bid_id
        ) = 1 as is_first_bid_on_stream
    from dated_bids
    left join linked_bids
        on linked_bids.bid_id = dated_bids.bid_id

),

as_bidder as (

    select
        bidder_id as account_id,
        activity_date,
        count(*) as bids_placed,
        sum(case when is_first_bid_on_lot then 1 else 0 end) as lots_bid,
        sum(case when is_first_bid_on_stream then 1 else 0 end) as streams_bid
    from flagged_bids
    group by bidder_id, activity_date

),

as_bidder_on_linked as (

    select
        bidder_id as account_id,
        attributed_date as activity_date,
        count(*) as bids_on_linked_sellers
    from flagged_bids
    where is_linked
    group by bidder_id, attributed_date

),

as_seller as (

    select
        seller_id as account_id,
        attributed_date as activity_date,
        count(*) as bids_received,
        sum(case when is_linked then 1 else 0 end) as bids_received_from_linked
    from flagged_bids
    where seller_id is not null
    group by seller_id, attributed_date

),

seller_occurrences as (

    select distinct bidder_id as account_id, seller_id as entity_id, attributed_date as activity_date
    from dated_bids
    where seller_id is not null

),

distinct_sellers_bid_30d as (

    {{ distinct_in_window_deltas('seller_occurrences', 30, 'distinct_sellers_bid_30d_delta') }}

),

days as (

    select account_id, activity_date from as_bidder
    union
    select account_id, activity_date from as_bidder_on_linked
    union
    select account_id, activity_date from as_seller
    union
    select account_id, activity_date from distinct_sellers_bid_30d

),

joined as (

    select
        days.account_id,
        days.activity_date,
        coalesce(as_bidder.bids_placed, 0) as bids_placed,
        coalesce(as_bidder.lots_bid, 0) as lots_bid,
        coalesce(as_bidder.streams_bid, 0) as streams_bid,
        coalesce(as_bidder_on_linked.bids_on_linked_sellers, 0) as bids_on_linked_sellers,
        coalesce(as_seller.bids_received, 0) as bids_received,
        coalesce(as_seller.bids_received_from_linked, 0) as bids_received_from_linked,
        coalesce(distinct_sellers_bid_30d.distinct_sellers_bid_30d_delta, 0) as distinct_sellers_bid_30d_delta
    from days
    left join as_bidder
        on as_bidder.account_id = days.account_id and as_bidder.activity_date = days.activity_date
    left join as_bidder_on_linked
        on as_bidder_on_linked.account_id = days.account_id
        and as_bidder_on_linked.activity_date = days.activity_date
    left join as_seller
        on as_seller.account_id = days.account_id and as_seller.activity_date = days.activity_date
    left join distinct_sellers_bid_30d
        on distinct_sellers_bid_30d.account_id = days.account_id
        and distinct_sellers_bid_30d.activity_date = days.activity_date

)

select * from joined
