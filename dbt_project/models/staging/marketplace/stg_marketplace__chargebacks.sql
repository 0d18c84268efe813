{{ config(unique_key='chargeback_id') }}
-- One row per chargeback: the newest version of each chargeback_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'chargebacks')) }}

),

renamed as (

    select
        cast(chargeback_id as {{ dbt.type_string() }}) as chargeback_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(reported_at as {{ dbt.type_timestamp() }}) as reported_at,
        cast(reason as {{ dbt.type_string() }}) as chargeback_reason,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'chargeback_id', ['order_id', 'reported_at', 'chargeback_reason', 'amount_usd'], guarded_columns=['order_id', 'reported_at', 'chargeback_reason']) }}

select * from flagged
