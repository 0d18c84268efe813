{{ config(unique_key='action_id') }}
-- One row per enforcement action: the newest version of each action_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'enforcement_actions')) }}

),

renamed as (

    select
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(action as {{ dbt.type_string() }}) as action,
        cast(abuse_type as {{ dbt.type_string() }}) as abuse_type,
        cast(source as {{ dbt.type_string() }}) as action_source,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'action_id', ['account_id', 'occurred_at', 'action', 'abuse_type', 'action_source'], guarded_columns=['account_id', 'occurred_at', 'action', 'abuse_type']) }}

select * from flagged
