{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Login and takeover signals per account per day (the day each login became knowable): the
-- logins tile. Incremental: the tiles of changed accounts are rebuilt from the first day that
-- may have changed.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
flagged_logins as (

    select flagged.*
    from {{ ref('int_logins_flagged') }} as flagged
    {%- if is_incremental() %}
    inner join changed_accounts
        on changed_accounts.account_id = flagged.account_id
        and flagged.activity_date >= changed_accounts.changed_from
    where flagged.activity_date >= (select min(changed_from) from changed_accounts)
    {%- endif %}

),

per_day as (

    select
        account_id,
        activity_date,
        count(*) as login_attempts,
        sum(case when is_successful then 1 else 0 end) as successful_logins,
        sum(case when not is_successful then 1 else 0 end) as failed_logins,
        -- A burst: five or more failed attempts in a day (credential stuffing, takeover attempts).
        case when sum(case when not is_successful then 1 else 0 end) >= 5 then 1 else 0 end as failed_login_burst_days,
        count(distinct case when is_new_device then device_id end) as new_devices,
        count(distinct case when is_new_country then ip_country_code end) as new_countries,
        sum(case when is_new_device and is_new_country then 1 else 0 end) as new_device_and_country_logins
    from flagged_logins
    group by account_id, activity_date

),

{{ rebuild_tiles('per_day') }}
