-- Whether an account did anything on a day (as knowable then): signed up, logged in, bid,
-- bought, sold or hosted a show. Defines the "active in the trailing 90 days" population.
with

first_seen as (

    select * from {{ ref('int_account_first_seen') }}

),

logins as (

    select * from {{ ref('int_logins_daily') }}

),

bought as (

    select * from {{ ref('int_orders_bought_daily') }}

),

sold as (

    select * from {{ ref('int_orders_sold_daily') }}

),

bids as (

    select * from {{ ref('int_bids_daily') }}

),

streams as (

    select * from {{ ref('int_livestreams_daily') }}

),

activity as (

    select account_id, first_seen_date as activity_date from first_seen
    union
    select account_id, activity_date from logins where successful_logins > 0
    union
    select account_id, activity_date from bought where orders_placed > 0
    union
    select account_id, activity_date from sold where orders_sold > 0
    union
    select account_id, activity_date from bids where bids_placed > 0
    union
    select account_id, activity_date from streams where streams_hosted > 0

)

select account_id, activity_date, 1 as is_active_day
from activity
