{{ config(materialized='view') }}
-- Successful logins from a device the account had never used before (signup device excluded):
-- the first login with the device on the day the device became known to the account. A view:
-- new devices are rare, and the login-level flags are maintained in int_logins_flagged.
with

flagged_logins as (

    select * from {{ ref('int_logins_flagged') }}
    where is_new_device

),

first_use as (

    select
        login_id,
        account_id,
        device_id,
        occurred_at,
        activity_date
    from flagged_logins
    qualify row_number() over (partition by account_id, device_id order by occurred_at, login_id) = 1

)

select * from first_use
