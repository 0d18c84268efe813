-- Successful logins from a device the account had never used before (signup device excluded).
with

flagged_logins as (

    select * from {{ ref('int_logins_flagged') }}

),

first_use as (

    -- The first login with the device on the day the device became known to the account.
    select
        login_id,
        account_id,
        device_id,
        occurred_at,
        activity_date
    from flagged_logins
    where is_new_device
    qualify row_number() over (partition by account_id, device_id order by occurred_at, login_id) = 1

)

select * from first_use
