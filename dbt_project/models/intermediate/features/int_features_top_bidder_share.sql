{{ config(materialized='ephemeral') }}
-- A seller's dependence on one bidder over 30 days, per as-of point: the largest share of its
-- lots bid on by a single bidder, for sellers with `pair_share_min_lots` lots or more (dated
-- when both the bid and the show were known). A shill ring's seller has a bidder or two on a
-- large part of its lots; an honest seller's audience spreads over many bidders.
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

bid_pairs as (

    -- Only the days the as-of points' 30-day windows reach.
    select bid_pairs.*
    from {{ ref('int_bid_pairs_daily') }} as bid_pairs
    cross join bounds
    where bid_pairs.activity_date between {{ add_days('bounds.start_date', -29) }} and bounds.end_date
        {{- within_known_days('bid_pairs.activity_date', 29) }}

),

seller_lots as (

    select seller_lots.account_id, seller_lots.activity_date, seller_lots.lots_received
    from {{ ref('int_bids_daily') }} as seller_lots
    cross join bounds
    where seller_lots.lots_received > 0
        and seller_lots.activity_date between {{ add_days('bounds.start_date', -29) }} and bounds.end_date
        {{- within_known_days('seller_lots.activity_date', 29) }}

),

lots_30d as (

    select
        points.account_id,
        points.as_of_date,
        sum(seller_lots.lots_received) as lots_received_30d
    from points
    inner join seller_lots
        on seller_lots.account_id = points.account_id
        and seller_lots.activity_date between {{ add_days('points.as_of_date', -29) }} and points.as_of_date
    group by points.account_id, points.as_of_date
    having sum(seller_lots.lots_received) >= {{ var('pair_share_min_lots') }}

),

bidder_lots as (

    select
        lots_30d.account_id,
        lots_30d.as_of_date,
        bid_pairs.account_id as bidder_id,
        sum(bid_pairs.lots_bid) as lots_bid
    from lots_30d
    inner join bid_pairs
        on bid_pairs.seller_id = lots_30d.account_id
        and bid_pairs.activity_date between {{ add_days('lots_30d.as_of_date', -29) }} and lots_30d.as_of_date
    group by lots_30d.account_id, lots_30d.as_of_date, bid_pairs.account_id

),

shares as (

    select
        lots_30d.account_id,
        lots_30d.as_of_date,
        -- A lot bid on across midnight counts on both days on both sides: clip at one.
        least({{ safe_ratio('max(bidder_lots.lots_bid)', 'max(lots_30d.lots_received_30d)') }}, 1.0) as top_bidder_lot_share_30d
    from lots_30d
    inner join bidder_lots
        on bidder_lots.account_id = lots_30d.account_id and bidder_lots.as_of_date = lots_30d.as_of_date
    group by lots_30d.account_id, lots_30d.as_of_date

)

select * from shares
