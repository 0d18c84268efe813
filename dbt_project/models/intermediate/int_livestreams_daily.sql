-- Shows hosted per seller per day.
with

livestreams as (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

per_day as (

    select
        seller_id as account_id,
        {{ visible_date('started_at', 'first_loaded_at') }} as activity_date,
        count(*) as streams_hosted
    from livestreams
    group by seller_id, {{ visible_date('started_at', 'first_loaded_at') }}

)

select * from per_day
