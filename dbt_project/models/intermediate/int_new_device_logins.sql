-- Successful logins from a device the account had never used before (signup device excluded).
with

logins as (

    select * from {{ ref('stg_marketplace__logins') }}

),

entities as (

    select * from {{ ref('int_account_entities') }}

),

account_first_seen as (

    select * from {{ ref('int_account_first_seen') }}

),

dated as (

    select
        login_id,
        account_id,
        device_id,
        occurred_at,
        {{ visible_date('occurred_at', 'first_loaded_at') }} as activity_date
    from logins
    where is_successful

),

first_use as (

    -- The first login with the device on the day the device became known to the account,
    -- after the account's own first day (the signup device is not new).
    select dated.*
    from dated
    inner join entities
        on entities.account_id = dated.account_id
        and entities.entity_type = 'device'
        and entities.entity_id = dated.device_id
        and entities.first_seen_date = dated.activity_date
    inner join account_first_seen
        on account_first_seen.account_id = dated.account_id
        and account_first_seen.first_seen_date < dated.activity_date
    qualify row_number() over (
        partition by dated.account_id, dated.device_id order by dated.occurred_at, dated.login_id
    ) = 1

)

select * from first_use
