{{ config(materialized='ephemeral') }}
-- Logins and takeover signals per as-of point: login counts over 1 to 30 days (logins tile),
-- distinct devices and IPs used in the last 7 days and days since the last new device (from
-- the login-level model).
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

point_accounts as (

    select distinct account_id from points

),

successful_logins as (

    select flagged_logins.account_id, flagged_logins.device_id, flagged_logins.ip_hash, flagged_logins.activity_date
    from {{ ref('int_logins_flagged') }} as flagged_logins
    inner join point_accounts on point_accounts.account_id = flagged_logins.account_id
    cross join bounds
    where flagged_logins.is_successful
        and flagged_logins.activity_date between {{ add_days('bounds.start_date', -6) }} and bounds.end_date
        {{- within_known_days('flagged_logins.activity_date', 6) }}

),

device_occurrences as (

    select distinct account_id, device_id as entity_id, activity_date
    from successful_logins

),

ip_occurrences as (

    select distinct account_id, ip_hash as entity_id, activity_date
    from successful_logins

),

distinct_devices_7d as (

    {{ distinct_in_window_deltas('device_occurrences', 7, 'distinct_devices_7d_delta') }}

),

distinct_ips_7d as (

    {{ distinct_in_window_deltas('ip_occurrences', 7, 'distinct_ips_7d_delta') }}

),

new_device_days as (

    -- Every day each account got a new device, up to the last as-of day: the running state of
    -- "days since the last new device" (new devices are rare).
    select distinct
        new_device_logins.account_id,
        new_device_logins.activity_date,
        {{ day_number('new_device_logins.activity_date') }} as new_device_day_number
    from {{ ref('int_new_device_logins') }} as new_device_logins
    inner join point_accounts on point_accounts.account_id = new_device_logins.account_id
    cross join bounds
    where new_device_logins.activity_date <= bounds.end_date

),

{{ timeline('logins', 'points', 'bounds', [
    {
        'relation': ref('int_logins_daily'),
        'windows': {
            'successful_logins': [30],
            'failed_logins': [1, 7],
            'failed_login_burst_days': [7],
            'new_devices': [1, 7],
            'new_countries': [1, 7],
            'new_device_and_country_logins': [7],
        },
        'lookback_days': 29,
    },
    {'relation': 'distinct_devices_7d', 'running': ['distinct_devices_7d_delta']},
    {'relation': 'distinct_ips_7d', 'running': ['distinct_ips_7d_delta']},
    {'relation': 'new_device_days', 'running': ['new_device_day_number']},
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ trailing('successful_logins', 30) }} as successful_logins_30d,
        cast({{ trailing('failed_logins', 1) }} as {{ dbt.type_bigint() }}) as failed_logins_1d,
        {{ trailing('failed_logins', 7) }} as failed_logins_7d,
        {{ trailing('failed_login_burst_days', 7) }} as failed_login_burst_days_7d,
        cast({{ trailing('new_devices', 1) }} as {{ dbt.type_bigint() }}) as new_devices_1d,
        {{ trailing('new_devices', 7) }} as new_devices_7d,
        cast({{ trailing('new_countries', 1) }} as {{ dbt.type_bigint() }}) as new_countries_1d,
        {{ trailing('new_countries', 7) }} as new_countries_7d,
        {{ trailing('new_device_and_country_logins', 7) }} as new_device_and_country_logins_7d,
        {{ to_date('distinct_devices_7d_delta') }} as distinct_devices_7d,
        {{ to_date('distinct_ips_7d_delta') }} as distinct_ips_7d,
        -- 0 on other rows: day numbers of real days are positive, so 0 means "none yet".
        {{ latest('new_device_day_number') }} as last_new_device_day_number,
        day_number
    from logins_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        successful_logins_30d,
        failed_logins_1d,
        failed_logins_7d,
        failed_login_burst_days_7d,
        new_devices_1d,
        new_devices_7d,
        new_countries_1d,
        new_countries_7d,
        new_device_and_country_logins_7d,
        distinct_devices_7d,
        distinct_ips_7d,
        case when last_new_device_day_number > 0 then day_number - last_new_device_day_number end
            as days_since_new_device
    from windowed
    where is_point = 1

)

select * from features
