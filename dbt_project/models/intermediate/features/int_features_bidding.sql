{{ config(materialized='ephemeral') }}
-- Bidding per as-of point, from both sides (bidding tile): bids, shows and lots bid on, lots won
-- (buying tile), bids on linked sellers, distinct sellers bid on (bid pairs), and bids received
-- as a seller, some from linked bidders. The linked-bid counts also over 90 days: a shill ring's
-- members bid from the seller's devices in bursts weeks apart (the rules `SHILL_*_90D`).
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

point_accounts as (

    select distinct account_id from points

),

seller_occurrences as (

    -- Already one row per (bidder, seller, day): the grain of the bid pairs (tested).
    select bid_pairs.account_id, bid_pairs.seller_id as entity_id, bid_pairs.activity_date
    from {{ ref('int_bid_pairs_daily') }} as bid_pairs
    inner join point_accounts on point_accounts.account_id = bid_pairs.account_id
    cross join bounds
    where bid_pairs.activity_date between {{ add_days('bounds.start_date', -29) }} and bounds.end_date
        {{- within_known_days('bid_pairs.activity_date', 29) }}

),

distinct_sellers_bid_30d as (

    {{ distinct_in_window_deltas('seller_occurrences', 30, 'distinct_sellers_bid_30d_delta') }}

),

{{ timeline('bidding', 'points', 'bounds', [
    {
        'relation': ref('int_bids_daily'),
        'windows': {
            'bids_placed': [7, 30],
            'streams_bid': [30],
            'lots_bid': [30],
            'bids_on_linked_sellers': [30, 90],
            'bids_received': [30, 90],
            'bids_received_from_linked': [30, 90],
        },
        'lookback_days': 89,
    },
    {'relation': ref('int_orders_bought_daily'), 'windows': {'lots_won': [30]}, 'lookback_days': 29},
    {'relation': 'distinct_sellers_bid_30d', 'running': ['distinct_sellers_bid_30d_delta']},
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ trailing('bids_placed', 7) }} as bids_placed_7d,
        {{ trailing('bids_placed', 30) }} as bids_placed_30d,
        {{ trailing('streams_bid', 30) }} as streams_bid_30d,
        {{ trailing('lots_bid', 30) }} as lots_bid_30d,
        {{ trailing('lots_won', 30) }} as lots_won_30d,
        {{ trailing('bids_on_linked_sellers', 30) }} as bids_on_linked_sellers_30d,
        {{ trailing('bids_received', 30) }} as bids_received_30d,
        {{ trailing('bids_received_from_linked', 30) }} as bids_received_from_linked_30d,
        {{ trailing('bids_on_linked_sellers', 90) }} as bids_on_linked_sellers_90d,
        {{ trailing('bids_received', 90) }} as bids_received_90d,
        {{ trailing('bids_received_from_linked', 90) }} as bids_received_from_linked_90d,
        {{ to_date('distinct_sellers_bid_30d_delta') }} as distinct_sellers_bid_30d
    from bidding_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        bids_placed_7d,
        bids_placed_30d,
        streams_bid_30d,
        {{ safe_ratio('bids_placed_30d', 'streams_bid_30d') }} as bids_per_stream_30d,
        distinct_sellers_bid_30d,
        lots_bid_30d,
        lots_won_30d,
        -- Lots won can include lots bid on before the window: clip at zero lost.
        {{ safe_ratio('greatest(lots_bid_30d - lots_won_30d, 0)', 'lots_bid_30d') }} as lots_lost_share_30d,
        bids_on_linked_sellers_30d,
        bids_received_30d,
        {{ safe_ratio('bids_received_from_linked_30d', 'bids_received_30d') }} as linked_bidder_share_30d,
        bids_on_linked_sellers_90d,
        bids_received_90d,
        {{ safe_ratio('bids_received_from_linked_90d', 'bids_received_90d') }} as linked_bidder_share_90d
    from windowed
    where is_point = 1

)

select * from features
