{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns'
    )
}}
{#-
    Point-in-time behavioural features: one row per account per as-of day, for every account
    active in the 90 days up to that day. Each value uses only what was knowable by the end of
    the day (see the yml and dbt_project/FEATURES.md).

    The features are defined once, for any set of as-of days (and accounts), in
    models/intermediate/features/ and joined and named in int_features_joined (the as-of days
    come from `min_date`/`max_date`, vars or the environment Dagster's daily partitions set:
    macro `feature_date`; without them, the days after the last one built). Re-running a day
    replaces that day's rows.

    A column added to the definitions is added to the table on the next run (null on the days
    built before; re-run those days to fill it): a full refresh would drop every day not in
    the run's vars.
-#}
with

features as (

    select * from {{ ref('int_features_joined') }}

)

select * from features
