{{ config(unique_key='bid_id') }}
-- One row per bid: the newest version of each bid_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'bids')) }}

),

renamed as (

    select
        cast(bid_id as {{ dbt.type_string() }}) as bid_id,
        cast(stream_id as {{ dbt.type_string() }}) as stream_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(bidder_id as {{ dbt.type_string() }}) as bidder_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'bid_id', ['stream_id', 'listing_id', 'bidder_id', 'occurred_at', 'amount_usd'], guarded_columns=['stream_id', 'listing_id', 'bidder_id', 'occurred_at']) }}

select * from flagged
