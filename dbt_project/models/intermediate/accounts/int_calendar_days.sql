{{ config(materialized='view') }}
-- One row per day from 2000-01-01 to 2099-12-31: the days as-of sets are cut from. Fixed, so it
-- never depends on the data; a view, so a run costs nothing.
with

numbers as (

    {{ dbt.generate_series(36524) }}

),

days as (

    select {{ add_days("cast('2000-01-01' as date)", 'generated_number - 1') }} as calendar_date
    from numbers

)

select calendar_date from days
