{{ config(materialized='ephemeral') }}
-- The share of a bidder's 30-day bids that went to their most-bid-on seller, per as-of point
-- (both counts dated when the bid's show was known too, so the share stays within [0, 1]).
with

points as (

    select * from {{ ref('int_features_population') }}

),

bid_pairs as (

    select * from {{ ref('int_bid_pairs_daily') }}

),

pair_totals as (

    select
        points.account_id,
        points.as_of_date,
        bid_pairs.seller_id,
        sum(bid_pairs.bids_placed) as pair_bids
    from points
    inner join bid_pairs
        on bid_pairs.account_id = points.account_id
        and bid_pairs.activity_date between {{ add_days('points.as_of_date', -29) }} and points.as_of_date
    group by points.account_id, points.as_of_date, bid_pairs.seller_id

),

shares as (

    select
        account_id,
        as_of_date,
        {{ safe_ratio('max(pair_bids)', 'sum(pair_bids)') }} as top_seller_bid_share_30d
    from pair_totals
    group by account_id, as_of_date

)

select * from shares
