{{ config(materialized='ephemeral') }}
-- The account's own enforcement history per as-of point: warnings, suspensions/bans for abuse
-- and reinstatements received up to the day (running totals of the enforcement tile).
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

{{ timeline('enforcement', 'points', 'bounds', [
    {
        'relation': ref('int_enforcement_daily'),
        'running': ['warnings_received', 'suspensions_received', 'reinstatements_received'],
        'totals': ['warnings_received_total', 'suspensions_received_total', 'reinstatements_received_total'],
        'lookback_days': 0,
    },
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ to_date('warnings_received_total_opening') }} + {{ to_date('warnings_received') }}
            as warnings_received_total,
        {{ to_date('suspensions_received_total_opening') }} + {{ to_date('suspensions_received') }}
            as suspensions_received_total,
        {{ to_date('reinstatements_received_total_opening') }} + {{ to_date('reinstatements_received') }}
            as reinstatements_received_total
    from enforcement_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        warnings_received_total,
        suspensions_received_total,
        reinstatements_received_total
    from windowed
    where is_point = 1

)

select * from features
