{{ config(materialized='ephemeral') }}
-- Payments per as-of point: cards on file (running totals from the payments tile) and cards
-- added in the last 1, 7 and 30 days.
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

{{ timeline('payments', 'points', 'bounds', [
    {
        'relation': ref('int_payment_methods_daily'),
        'windows': {'cards_added': [1, 7, 30]},
        'running': ['cards_added', 'prepaid_cards_added', 'foreign_cards_added'],
        'totals': ['cards_on_file', 'prepaid_cards_on_file', 'foreign_cards_on_file'],
        'lookback_days': 29,
    },
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ to_date('cards_on_file_opening') }} + {{ to_date('cards_added') }} as cards_on_file,
        {{ to_date('prepaid_cards_on_file_opening') }} + {{ to_date('prepaid_cards_added') }} as prepaid_cards_on_file,
        {{ to_date('foreign_cards_on_file_opening') }} + {{ to_date('foreign_cards_added') }} as foreign_cards_on_file,
        cast({{ trailing('cards_added', 1) }} as {{ dbt.type_bigint() }}) as cards_added_1d,
        {{ trailing('cards_added', 7) }} as cards_added_7d,
        {{ trailing('cards_added', 30) }} as cards_added_30d
    from payments_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        cards_on_file,
        cards_added_1d,
        cards_added_7d,
        cards_added_30d,
        {{ safe_ratio('prepaid_cards_on_file', 'cards_on_file') }} as prepaid_card_share,
        {{ safe_ratio('foreign_cards_on_file', 'cards_on_file') }} as foreign_card_share
    from windowed
    where is_point = 1

)

select * from features
