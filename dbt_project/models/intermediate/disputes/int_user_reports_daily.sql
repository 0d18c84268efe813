{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Reports received and made per account per day: the reports tile. Incremental: the tiles of
-- changed accounts are rebuilt from the first day that may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
reports as (

    select * from {{ ref('stg_marketplace__user_reports') }}
    {%- if is_incremental() %}
    where reporter_id in (select account_id from changed_accounts)
        or reported_id in (select account_id from changed_accounts)
    {%- endif %}

),

dated as (

    select
        reporter_id,
        reported_id,
        report_reason,
        {{ visible_date('occurred_at', 'first_loaded_at') }} as activity_date
    from reports

),

received as (

    select
        reported_id as account_id,
        activity_date,
        count(*) as reports_received,
        sum(case when report_reason in ('scam', 'counterfeit') then 1 else 0 end) as scam_reports_received,
        sum(case when report_reason = 'shill_bidding' then 1 else 0 end) as shill_reports_received
    from dated
    group by reported_id, activity_date

),

made as (

    select reporter_id as account_id, activity_date, count(*) as reports_made
    from dated
    group by reporter_id, activity_date

),

days as (

    select account_id, activity_date from received
    union
    select account_id, activity_date from made

),

per_day as (

    select
        days.account_id,
        days.activity_date,
        coalesce(received.reports_received, 0) as reports_received,
        coalesce(received.scam_reports_received, 0) as scam_reports_received,
        coalesce(received.shill_reports_received, 0) as shill_reports_received,
        coalesce(made.reports_made, 0) as reports_made
    from days
    left join received
        on received.account_id = days.account_id and received.activity_date = days.activity_date
    left join made
        on made.account_id = days.account_id and made.activity_date = days.activity_date

),

{{ rebuild_tiles('per_day') }}
