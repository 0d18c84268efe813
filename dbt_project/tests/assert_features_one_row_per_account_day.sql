-- fct_account_features_daily has one row per account per as-of day: any (account_id,
-- as_of_date) seen more than once is returned. Portable SQL, no packages; the grain check
-- dbt-core's `unique` cannot express for a compound key. On the days the build asks for: a run
-- replaces whole days, so the others were checked when built (macros/tested_rows.sql).
with

features as (

    select * from {{ ref('fct_account_features_daily') }}
    where {{ as_of_days_built() }}

),

duplicated_keys as (

    select
        account_id,
        as_of_date,
        count(*) as row_count
    from features
    group by account_id, as_of_date
    having count(*) > 1

)

select * from duplicated_keys
