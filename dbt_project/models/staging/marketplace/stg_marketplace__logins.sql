{{ config(unique_key='login_id') }}
-- One row per login attempt: the newest version of each event_id, and when it was first loaded
-- (the moment it became knowable).
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'logins')) }}

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as login_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(ip_hash as {{ dbt.type_string() }}) as ip_hash,
        cast(ip_country as {{ dbt.type_string() }}) as ip_country_code,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(success as {{ dbt.type_boolean() }}) as is_successful,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'login_id', ['account_id', 'occurred_at', 'ip_hash', 'ip_country_code', 'device_id', 'is_successful']) }}

select * from flagged
