{{ config(unique_key='stream_id') }}
-- One row per show: the newest version of each stream_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'livestreams')) }}

),

renamed as (

    select
        cast(stream_id as {{ dbt.type_string() }}) as stream_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(category as {{ dbt.type_string() }}) as category,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'stream_id', ['seller_id', 'started_at', 'ended_at', 'category'], guarded_columns=['seller_id', 'started_at']) }}

select * from flagged
