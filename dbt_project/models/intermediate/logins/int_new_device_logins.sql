{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Successful logins from a device the account had never used before (signup device excluded):
-- the first login with the device on the day the device became known to the account. Stored,
-- not a view: the feature models read every new device up to the as-of day ("days since the
-- last new device"), and new devices are rare, so this table is a small fraction of the logins
-- a view would scan. Incremental: the accounts int_logins_flagged re-flagged, from the same
-- day on (all of a device's new-device logins fall on one day, its first).
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
    {%- endif %}
    where flagged.is_new_device

),

first_use as (

    select
        login_id,
        account_id,
        device_id,
        occurred_at,
        activity_date,
        {{ change_log_ingested_through() }} as _ingested_through
    from flagged_logins
    qualify row_number() over (partition by account_id, device_id order by occurred_at, login_id) = 1

){% if is_incremental() %},

scope as (

    select account_id, changed_from as replace_from from changed_accounts

){% endif %}

{{ replace_rows('first_use', 'scope', 'account_id', 'activity_date') }}
