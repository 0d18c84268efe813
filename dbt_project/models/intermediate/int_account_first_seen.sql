-- When each account first became knowable (its first loaded account row).
with

account_versions as (

    select * from {{ ref('stg_marketplace__account_versions') }}

),

first_seen as (

    select
        account_id,
        min({{ visible_date('created_at', 'loaded_at') }}) as first_seen_date
    from account_versions
    group by account_id

)

select * from first_seen
