{{ config(materialized='ephemeral') }}
-- A bidder's concentration on one seller over 30 days, per as-of point (all counts dated when
-- the bid's show was known too):
-- - top_seller_bid_share_30d: the share of its bids that went to its most-bid-on seller;
-- - top_seller_lot_share_30d: the largest share of one seller's lots it bid on, among sellers
--   with `pair_share_min_lots` lots or more. A shill bids on a large part of one seller's lots;
--   an honest bidder on a small part of any busy seller's.
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

    select seller_lots.account_id as seller_id, seller_lots.activity_date, seller_lots.lots_received
    from {{ ref('int_bids_daily') }} as seller_lots
    cross join bounds
    where seller_lots.lots_received > 0
        and seller_lots.activity_date between {{ add_days('bounds.start_date', -29) }} and bounds.end_date
        {{- within_known_days('seller_lots.activity_date', 29) }}

),

pair_totals as (

    select
        points.account_id,
        points.as_of_date,
        bid_pairs.seller_id,
        sum(bid_pairs.bids_placed) as pair_bids,
        sum(bid_pairs.lots_bid) as pair_lots
    from points
    inner join bid_pairs
        on bid_pairs.account_id = points.account_id
        and bid_pairs.activity_date between {{ add_days('points.as_of_date', -29) }} and points.as_of_date
    group by points.account_id, points.as_of_date, bid_pairs.seller_id

),

seller_windows as (

    -- Each seller bid on, once per as-of day (not once per bidder): its lots in the 30 days.
    select
        seller_days.seller_id,
        seller_days.as_of_date,
        sum(seller_lots.lots_received) as seller_lots
    from (select distinct seller_id, as_of_date from pair_totals) as seller_days
    inner join seller_lots
        on seller_lots.seller_id = seller_days.seller_id
        and seller_lots.activity_date
            between {{ add_days('seller_days.as_of_date', -29) }} and seller_days.as_of_date
    group by seller_days.seller_id, seller_days.as_of_date
    having sum(seller_lots.lots_received) >= {{ var('pair_share_min_lots') }}

),

pair_lot_shares as (

    select
        pair_totals.account_id,
        pair_totals.as_of_date,
        -- A lot bid on across midnight counts on both days on both sides: clip at one.
        least({{ safe_ratio('pair_totals.pair_lots', 'seller_windows.seller_lots') }}, 1.0) as lot_share
    from pair_totals
    inner join seller_windows
        on seller_windows.seller_id = pair_totals.seller_id
        and seller_windows.as_of_date = pair_totals.as_of_date

),

bid_shares as (

    select
        account_id,
        as_of_date,
        {{ safe_ratio('max(pair_bids)', 'sum(pair_bids)') }} as top_seller_bid_share_30d
    from pair_totals
    group by account_id, as_of_date

),

lot_shares as (

    select account_id, as_of_date, max(lot_share) as top_seller_lot_share_30d
    from pair_lot_shares
    group by account_id, as_of_date

),

shares as (

    select
        bid_shares.account_id,
        bid_shares.as_of_date,
        bid_shares.top_seller_bid_share_30d,
        lot_shares.top_seller_lot_share_30d
    from bid_shares
    left join lot_shares
        on lot_shares.account_id = bid_shares.account_id and lot_shares.as_of_date = bid_shares.as_of_date

)

select * from shares
