{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Whether an account did something on a day (as knowable then): signed up, logged in, bid,
-- bought, sold or hosted a show. Defines the "active in the trailing 90 days" population.
-- Incremental: the activity of changed accounts is rebuilt from the first day that may have
-- changed, from the tiles (already rebuilt in the same run).
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
{%- set since = ' and activity_date >= (select min(changed_from) from changed_accounts)' if is_incremental() else '' %}
first_seen as (

    select * from {{ ref('int_account_first_seen') }}
    {%- if is_incremental() %}
    where first_seen_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

logins as (

    select * from {{ ref('int_logins_daily') }} where successful_logins > 0{{ since }}

),

bought as (

    select * from {{ ref('int_orders_bought_daily') }} where orders_placed > 0{{ since }}

),

sold as (

    select * from {{ ref('int_orders_sold_daily') }} where orders_sold > 0{{ since }}

),

bids as (

    select * from {{ ref('int_bids_daily') }} where bids_placed > 0{{ since }}

),

streams as (

    select * from {{ ref('int_livestreams_daily') }} where streams_hosted > 0{{ since }}

),

activity as (

    select account_id, first_seen_date as activity_date from first_seen
    union
    select account_id, activity_date from logins
    union
    select account_id, activity_date from bought
    union
    select account_id, activity_date from sold
    union
    select account_id, activity_date from bids
    union
    select account_id, activity_date from streams

),

per_day as (

    select
        activity.account_id,
        activity.activity_date,
        1 as is_active_day
    from activity
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = activity.account_id
        and activity.activity_date >= changed_accounts.changed_from
    {%- endif %}

),

{{ rebuild_tiles('per_day') }}
