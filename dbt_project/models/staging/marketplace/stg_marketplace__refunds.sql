{{ config(unique_key='refund_id') }}
-- One row per refund: the newest version of each refund_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'refunds')) }}

),

renamed as (

    select
        cast(refund_id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        cast(reason as {{ dbt.type_string() }}) as refund_reason,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'refund_id', ['order_id', 'created_at', 'amount_usd', 'refund_reason'], guarded_columns=['order_id', 'created_at', 'refund_reason']) }}

select * from flagged
