{{ config(unique_key='report_id') }}
-- One row per user report: the newest version of each report_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'user_reports')) }}

),

renamed as (

    select
        cast(report_id as {{ dbt.type_string() }}) as report_id,
        cast(reporter_id as {{ dbt.type_string() }}) as reporter_id,
        cast(reported_id as {{ dbt.type_string() }}) as reported_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(reason as {{ dbt.type_string() }}) as report_reason,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'report_id', ['reporter_id', 'reported_id', 'occurred_at', 'report_reason']) }}

select * from flagged
