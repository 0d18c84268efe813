-- Pairs of accounts linked by a shared identifier, with the span during which the link held
-- as known at the time. Grain: one row per (account_id, linked_account_id, link_type), both
-- directions. link_type is device, card, address, ip, or `strong` (device, card or address).
--
-- An identifier shared by more than `link_entity_max_accounts` accounts (a public IP, a
-- shared kiosk device) stops linking anyone from the day it crosses that size: such links
-- say nothing and would make pairs explode.
with

entities as (

    select * from {{ ref('int_account_entities') }}
    where entity_type in ('device', 'card', 'address', 'ip')

),

ranked as (

    select
        *,
        row_number() over (
            partition by entity_type, entity_id order by first_seen_date, account_id
        ) as arrival_rank
    from entities

),

entity_caps as (

    select entity_type, entity_id, first_seen_date as crowded_from
    from ranked
    where arrival_rank = {{ var('link_entity_max_accounts') + 1 }}

),

pairs as (

    select
        a.account_id,
        b.account_id as linked_account_id,
        a.entity_type as link_type,
        greatest(a.first_seen_date, b.first_seen_date) as linked_from,
        coalesce(entity_caps.crowded_from, cast('9999-12-31' as date)) as linked_until
    from ranked as a
    inner join ranked as b
        on b.entity_type = a.entity_type
        and b.entity_id = a.entity_id
        and b.account_id <> a.account_id
        and b.arrival_rank <= {{ var('link_entity_max_accounts') }}
    left join entity_caps
        on entity_caps.entity_type = a.entity_type
        and entity_caps.entity_id = a.entity_id
    where a.arrival_rank <= {{ var('link_entity_max_accounts') }}

),

by_type as (

    -- Several shared identifiers of one type: the link holds from the first to the last day
    -- any of them held it.
    select
        account_id,
        linked_account_id,
        link_type,
        min(linked_from) as linked_from,
        max(linked_until) as linked_until
    from pairs
    where linked_from < linked_until
    group by account_id, linked_account_id, link_type

),

strong as (

    select
        account_id,
        linked_account_id,
        'strong' as link_type,
        min(linked_from) as linked_from,
        max(linked_until) as linked_until
    from by_type
    where link_type in ('device', 'card', 'address')
    group by account_id, linked_account_id

),

all_links as (

    select * from by_type
    union all
    select * from strong

)

select * from all_links
