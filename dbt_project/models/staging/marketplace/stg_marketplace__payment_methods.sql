{{ config(unique_key='payment_method_id') }}
-- One row per card added: the newest version of each payment_method_id.
-- Incremental: merges the raw rows ingested since the last run (macros/staging.sql).
with

source as (

    {{ raw_rows_since_last_run(source('marketplace', 'payment_methods')) }}

),

renamed as (

    select
        cast(payment_method_id as {{ dbt.type_string() }}) as payment_method_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(added_at as {{ dbt.type_timestamp() }}) as added_at,
        cast(card_fingerprint as {{ dbt.type_string() }}) as card_fingerprint,
        cast(card_country as {{ dbt.type_string() }}) as card_country_code,
        cast(card_type as {{ dbt.type_string() }}) as card_type,
        {{ staged_lineage_columns() }}
    from source

),

{{ newest_version_per_id('renamed', 'payment_method_id', ['account_id', 'added_at', 'card_fingerprint', 'card_country_code', 'card_type']) }}

select * from flagged
