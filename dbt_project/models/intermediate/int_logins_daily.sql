-- Login and takeover signals per account per day (the day each login became knowable).
with

flagged_logins as (

    select * from {{ ref('int_logins_flagged') }}

),

per_day as (

    select
        account_id,
        activity_date,
        count(*) as login_attempts,
        sum(case when is_successful then 1 else 0 end) as successful_logins,
        sum(case when not is_successful then 1 else 0 end) as failed_logins,
        count(distinct case when is_new_device then device_id end) as new_devices,
        count(distinct case when is_new_country then ip_country_code end) as new_countries,
        sum(case when is_new_device and is_new_country then 1 else 0 end) as new_device_and_country_logins
    from flagged_logins
    group by account_id, activity_date

),

device_occurrences as (

    select distinct account_id, device_id as entity_id, activity_date
    from flagged_logins
    where is_successful

),

ip_occurrences as (

    select distinct account_id, ip_hash as entity_id, activity_date
    from flagged_logins
    where is_successful

),

distinct_devices_7d as (

    {{ distinct_in_window_deltas('device_occurrences', 7, 'distinct_devices_7d_delta') }}

),

distinct_ips_7d as (

    {{ distinct_in_window_deltas('ip_occurrences', 7, 'distinct_ips_7d_delta') }}

),

days as (

    select account_id, activity_date from per_day
    union
    select account_id, activity_date from distinct_devices_7d
    union
    select account_id, activity_date from distinct_ips_7d

),

joined as (

    select
        days.account_id,
        days.activity_date,
        coalesce(per_day.login_attempts, 0) as login_attempts,
        coalesce(per_day.successful_logins, 0) as successful_logins,
        coalesce(per_day.failed_logins, 0) as failed_logins,
        -- A burst: five or more failed attempts in a day (credential stuffing, takeover attempts).
        case when per_day.failed_logins >= 5 then 1 else 0 end as failed_login_burst_days,
        coalesce(per_day.new_devices, 0) as new_devices,
        coalesce(per_day.new_countries, 0) as new_countries,
        coalesce(per_day.new_device_and_country_logins, 0) as new_device_and_country_logins,
        coalesce(distinct_devices_7d.distinct_devices_7d_delta, 0) as distinct_devices_7d_delta,
        coalesce(distinct_ips_7d.distinct_ips_7d_delta, 0) as distinct_ips_7d_delta
    from days
    left join per_day
        on per_day.account_id = days.account_id and per_day.activity_date = days.activity_date
    left join distinct_devices_7d
        on distinct_devices_7d.account_id = days.account_id
        and distinct_devices_7d.activity_date = days.activity_date
    left join distinct_ips_7d
        on distinct_ips_7d.account_id = days.account_id
        and distinct_ips_7d.activity_date = days.activity_date

)

select * from joined
