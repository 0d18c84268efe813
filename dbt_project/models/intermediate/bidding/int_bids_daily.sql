{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Bidding per account per day, from both sides: as a bidder and as the seller whose lots are
-- bid on (including bids from accounts linked to the seller: the shill-bidding signal). The
-- bidding tile. Incremental: the tiles of changed accounts are rebuilt from the first day
-- that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
dated_bids as {{ inlined() }} (

    select * from {{ ref('int_bids_dated') }}

),

firsts as (

    select * from {{ ref('int_bidder_firsts') }}

),

links as (

    select * from {{ ref('int_account_links') }}
    where link_type in ('strong', 'ip')

),

bidder_bids as (

    -- The account's own bids, by the day each became knowable.
    select dated_bids.*
    from dated_bids
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = dated_bids.bidder_id
        and dated_bids.activity_date >= changed_accounts.changed_from
    where dated_bids.activity_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

attributed_bids as (

    -- Bids on a known show, by the day the show was known too: the bidder's bids on linked
    -- sellers and the seller's bids received.
    select dated_bids.*
    from dated_bids
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = dated_bids.bidder_id
        and dated_bids.attributed_date >= changed_accounts.changed_from
    where dated_bids.attributed_date >= (select min(changed_from) from changed_accounts)
    union
    select dated_bids.*
    from dated_bids
    inner join changed_accounts
        on changed_accounts.account_id = dated_bids.seller_id
        and dated_bids.attributed_date >= changed_accounts.changed_from
    where dated_bids.attributed_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

linked_bids as (

    -- Bids on a stream whose seller shared a device, card, address or IP with the bidder,
    -- as known on the day of the bid.
    select distinct attributed_bids.bid_id
    from attributed_bids
    inner join links
        on links.account_id = attributed_bids.bidder_id
        and links.linked_account_id = attributed_bids.seller_id
        and links.linked_from <= attributed_bids.attributed_date
        and links.linked_until > attributed_bids.attributed_date

),

flagged_bids as (

    select
        attributed_bids.*,
        linked_bids.bid_id is not null as is_linked
    from attributed_bids
    left join linked_bids
        on linked_bids.bid_id = attributed_bids.bid_id

),

as_bidder as (

    select
        bidder_id as account_id,
        activity_date,
        count(*) as bids_placed
    from bidder_bids
    group by bidder_id, activity_date

),

first_bids as (

    select
        firsts.bidder_id as account_id,
        firsts.first_bid_date as activity_date,
        sum(case when firsts.first_of = 'listing' then 1 else 0 end) as lots_bid,
        sum(case when firsts.first_of = 'stream' then 1 else 0 end) as streams_bid
    from firsts
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = firsts.bidder_id
        and firsts.first_bid_date >= changed_accounts.changed_from
    where firsts.first_bid_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}
    group by firsts.bidder_id, firsts.first_bid_date

),

as_bidder_on_linked as (

    select
        bidder_id as account_id,
        attributed_date as activity_date,
        count(*) as bids_on_linked_sellers
    from flagged_bids
    where is_linked
    {%- if is_incremental() %}
        and bidder_id in (select account_id from changed_accounts)
    {%- endif %}
    group by bidder_id, attributed_date

),

as_seller as (

    select
        seller_id as account_id,
        attributed_date as activity_date,
        count(*) as bids_received,
        count(distinct listing_id) as lots_received,
        sum(case when is_linked then 1 else 0 end) as bids_received_from_linked
    from flagged_bids
    where seller_id is not null
    {%- if is_incremental() %}
        and seller_id in (select account_id from changed_accounts)
    {%- endif %}
    group by seller_id, attributed_date

),

days as (

    select account_id, activity_date from as_bidder
    union
    select account_id, activity_date from first_bids
    union
    select account_id, activity_date from as_bidder_on_linked
    union
    select account_id, activity_date from as_seller

),

per_day as (

    select
        days.account_id,
        days.activity_date,
        coalesce(as_bidder.bids_placed, 0) as bids_placed,
        coalesce(first_bids.lots_bid, 0) as lots_bid,
        coalesce(first_bids.streams_bid, 0) as streams_bid,
        coalesce(as_bidder_on_linked.bids_on_linked_sellers, 0) as bids_on_linked_sellers,
        coalesce(as_seller.bids_received, 0) as bids_received,
        coalesce(as_seller.lots_received, 0) as lots_received,
        coalesce(as_seller.bids_received_from_linked, 0) as bids_received_from_linked
    from days
    left join as_bidder
        on as_bidder.account_id = days.account_id and as_bidder.activity_date = days.activity_date
    left join first_bids
        on first_bids.account_id = days.account_id and first_bids.activity_date = days.activity_date
    left join as_bidder_on_linked
        on as_bidder_on_linked.account_id = days.account_id
        and as_bidder_on_linked.activity_date = days.activity_date
    left join as_seller
        on as_seller.account_id = days.account_id and as_seller.activity_date = days.activity_date

),

{{ rebuild_tiles('per_day') }}
