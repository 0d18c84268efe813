-- Bids per (bidder, seller) per day, dated when both the bid and its show were knowable:
-- input to "share of a bidder's bids that went to a single seller".
with

bids as (

    select * from {{ ref('stg_marketplace__bids') }}

),

livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

per_pair_day as (

    select
        bids.bidder_id as account_id,
        livestreams.seller_id,
        greatest(
            {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }},
            {{ visible_date('livestreams.started_at', 'livestreams.first_loaded_at') }}
        ) as activity_date,
        count(*) as bids_placed
    from bids
    inner join livestreams
        on livestreams.stream_id = bids.stream_id
    group by 1, 2, 3

)

select * from per_pair_day
