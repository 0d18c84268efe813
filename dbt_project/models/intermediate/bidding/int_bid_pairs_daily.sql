{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Bids and lots per (bidder, seller) per day, dated when both the bid and its show were
-- knowable: input to "share of a bidder's bids that went to a single seller", "distinct sellers
-- bid on" and, against the seller's lots, the shill-bidding pair shares. Incremental: the tiles of changed bidders are rebuilt from the first day that may have
-- changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
dated_bids as (

    select dated_bids.*
    from {{ ref('int_bids_dated') }} as dated_bids
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = dated_bids.bidder_id
        and dated_bids.attributed_date >= changed_accounts.changed_from
    where dated_bids.attributed_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

per_pair_day as (

    select
        bidder_id as account_id,
        seller_id,
        attributed_date as activity_date,
        count(*) as bids_placed,
        count(distinct listing_id) as lots_bid
    from dated_bids
    where seller_id is not null
    group by bidder_id, seller_id, attributed_date

),

{{ rebuild_tiles('per_pair_day') }}
