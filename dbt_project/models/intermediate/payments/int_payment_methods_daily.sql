{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id',
        replace_range='activity_date'
    )
}}
-- Cards added per account per day, with prepaid and foreign (issuer country differs from the
-- account's country) counts, and the running totals of cards on file: the payments tile.
-- Incremental: the tiles of changed accounts are rebuilt from the first day that may have
-- changed, continuing the running totals of the last tile before it.
with

{% if is_incremental() -%}
changed_accounts as (

    {{ changed_accounts() }}

),

{% endif -%}
payment_methods as (

    select payment_methods.*
    from {{ ref('stg_marketplace__payment_methods') }} as payment_methods
    {%- if is_incremental() %}
    where payment_methods.account_id in (select account_id from changed_accounts)
    {%- endif %}

),

accounts as (

    select * from {{ ref('int_account_profiles_versioned') }}

),

dated as (

    select
        payment_methods.account_id,
        payment_methods.card_type,
        payment_methods.card_country_code,
        {{ visible_date('payment_methods.added_at', 'payment_methods.first_loaded_at') }} as activity_date
    from payment_methods

),

with_account_country as (

    -- The account's country as known on the day the card was.
    select
        dated.*,
        accounts.country_code as account_country_code
    from dated
    left join accounts
        on accounts.account_id = dated.account_id
        and dated.activity_date between accounts.valid_from_date and accounts.valid_to_date

),

per_day as (

    select
        account_id,
        activity_date,
        count(*) as cards_added,
        sum(case when card_type = 'prepaid' then 1 else 0 end) as prepaid_cards_added,
        sum(case when card_country_code <> account_country_code then 1 else 0 end) as foreign_cards_added
    from with_account_country
    group by account_id, activity_date

),

{{ rebuild_tiles('per_day', {
    'cards_added': 'cards_on_file',
    'prepaid_cards_added': 'prepaid_cards_on_file',
    'foreign_cards_added': 'foreign_cards_on_file',
}) }}
