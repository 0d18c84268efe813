{{ config(materialized='ephemeral') }}
-- Each account's connected group in the strong-link graph holding on each as-of day: its size
-- (1 when it has no strong link) and, for a group of at most `ring_max_accounts`, its id, what
-- lets review and enforcement act on the group as one ring. A larger group is a network of
-- loosely chained identifiers (family devices, resold phones, chains of them), not one
-- person's ring: it gets no id, and its members are reviewed one by one.
{#- Connected groups by min-label propagation, unrolled (portable: no recursive UNION). Groups
    wider than this many hops are split; rings and families are far smaller. -#}
{%- set hops = 6 %}
with

days as (

    select * from {{ ref('int_features_as_of_days') }}

),

points as (

    select * from {{ ref('int_features_population') }}

),

links as (

    select * from {{ ref('int_account_links') }}
    where link_type = 'strong'

),

group_edges as (

    -- Strong links holding on each as-of day: the graph whose connected groups we size.
    select
        days.as_of_date,
        links.account_id,
        links.linked_account_id
    from days
    inner join links
        on links.linked_from <= days.as_of_date
        and links.linked_until > days.as_of_date

),

group_labels_0 as (

    select as_of_date, account_id, least(min(linked_account_id), account_id) as group_label
    from group_edges
    group by as_of_date, account_id

),

{% for i in range(1, hops + 1) %}
group_labels_{{ i }} as (

    -- Each account takes the smallest label among its own and its neighbours'. One join per
    -- step, edge to neighbour: with own and neighbour labels in one join, DuckDB joined the two
    -- on the day first, every linked account with every other (2.1M rows for 1,462 accounts).
    select as_of_date, account_id, min(group_label) as group_label
    from (
        select as_of_date, account_id, group_label
        from group_labels_{{ i - 1 }}
        union all
        select
            group_edges.as_of_date,
            group_edges.account_id,
            neighbour.group_label
        from group_edges
        inner join group_labels_{{ i - 1 }} as neighbour
            on neighbour.as_of_date = group_edges.as_of_date
            and neighbour.account_id = group_edges.linked_account_id
    ) as candidates
    group by as_of_date, account_id

),

{% endfor %}

group_sizes as (

    select
        labelled.as_of_date,
        labelled.account_id,
        labelled.group_label,
        sizes.group_size
    from group_labels_{{ hops }} as labelled
    inner join (
        select as_of_date, group_label, count(*) as group_size
        from group_labels_{{ hops }}
        group by as_of_date, group_label
    ) as sizes
        on sizes.as_of_date = labelled.as_of_date and sizes.group_label = labelled.group_label

),

features as (

    select
        points.account_id,
        points.as_of_date,
        coalesce(group_sizes.group_size, 1) as linked_group_size,
        -- Named after its smallest account id: the same group on the same day has the same id.
        case
            when group_sizes.group_size between 2 and {{ var('ring_max_accounts') }}
                then 'group_' || group_sizes.group_label
        end as linked_group_id
    from points
    left join group_sizes
        on group_sizes.account_id = points.account_id and group_sizes.as_of_date = points.as_of_date

)

select * from features
