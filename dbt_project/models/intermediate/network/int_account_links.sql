{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='account_id'
    )
}}
-- Pairs of accounts linked by a shared identifier, with the span during which the link held
-- as known at the time. Grain: one row per (account_id, linked_account_id, link_type), both
-- directions. link_type is device, card, address, ip, or `strong` (device, card or address).
--
-- An identifier shared by more than `link_entity_max_accounts` accounts (a public IP, a
-- shared kiosk device) stops linking anyone from the day it crosses that size: such links
-- say nothing and would make pairs explode.
--
-- Incremental: when an identifier gains accounts or an account's first sighting moves, the
-- links of its first (link_entity_max_accounts + changed) accounts are rebuilt, all of them.
-- Arrival ranks only ever grow (sightings only move earlier), so no other account can have
-- lost or gained a link through it.
{%- set max_accounts = var('link_entity_max_accounts') %}
with

entities as (

    select * from {{ ref('int_account_entities') }}
    where entity_type in ('device', 'card', 'address', 'ip')

),

{% if is_incremental() -%}
changed_identifiers as (

    select entity_type, entity_id, count(*) as changed_accounts
    from entities
    where _ingested_through > {{ ingested_through() }}
    group by entity_type, entity_id

),

changed_identifier_members as (

    select
        entities.account_id,
        changed_identifiers.changed_accounts,
        row_number() over (
            partition by entities.entity_type, entities.entity_id
            order by entities.first_seen_date, entities.account_id
        ) as arrival_rank
    from entities
    inner join changed_identifiers
        on changed_identifiers.entity_type = entities.entity_type
        and changed_identifiers.entity_id = entities.entity_id

),

scope as (

    select distinct account_id, cast(null as date) as replace_from
    from changed_identifier_members
    where arrival_rank <= {{ max_accounts }} + changed_accounts

),

scope_identifiers as (

    select distinct entities.entity_type, entities.entity_id
    from entities
    inner join scope on scope.account_id = entities.account_id

),

relevant as (

    select entities.*
    from entities
    inner join scope_identifiers
        on scope_identifiers.entity_type = entities.entity_type
        and scope_identifiers.entity_id = entities.entity_id

),

{% else -%}
relevant as (

    select * from entities

),

{% endif -%}
ranked as (

    select
        *,
        row_number() over (
            partition by entity_type, entity_id order by first_seen_date, account_id
        ) as arrival_rank
    from relevant

),

entity_caps as (

    select entity_type, entity_id, first_seen_date as crowded_from
    from ranked
    where arrival_rank = {{ max_accounts + 1 }}

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
        and b.arrival_rank <= {{ max_accounts }}
    left join entity_caps
        on entity_caps.entity_type = a.entity_type
        and entity_caps.entity_id = a.entity_id
    where a.arrival_rank <= {{ max_accounts }}
    {%- if is_incremental() %}
        and a.account_id in (select account_id from scope)
    {%- endif %}

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

),

final as (

    select
        all_links.*,
        {{ ingested_through(ref('int_account_entities')) }} as _ingested_through
    from all_links

)

{{ replace_rows('final', 'scope', 'account_id') }}
