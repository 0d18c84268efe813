{#-
    Windows over sparse tiles, for the as-of days asked (the feature models under
    models/intermediate/features/). A family's "timeline" is, per account, the union of its
    tiles in the days the windows reach (one row per tile day), one opening row holding the
    running totals of the last tile before them, and one row per as-of point (measures 0). A
    RANGE frame over the day number then sums exactly the tiles of the N days up to each point,
    with no dense account-day grid; keeping only the point rows gives one row per account and
    as-of day.
-#}

{#- Sum of a measure over the `days` days up to and including the row's day. -#}
{% macro trailing(measure, days) -%}
    sum({{ measure }}) over (
        partition by account_id order by day_number
        range between {{ days - 1 }} preceding and current row
    )
{%- endmacro %}

{#- Sum of a measure over everything up to and including the row's day. -#}
{% macro to_date(measure) -%}
    sum({{ measure }}) over (
        partition by account_id order by day_number
        range between unbounded preceding and current row
    )
{%- endmacro %}

{#-
    CTEs `<name>_accounts` and `<name>_timeline` (see above) for one family, from any number of
    sources. points: the as-of points CTE (account_id, as_of_date, day_number); bounds: a
    one-row CTE with start_date and end_date; sources: a list of dicts, each with
      relation: a tile model (or a CTE with account_id and activity_date),
      measures: its daily columns (names unique across sources),
      lookback_days: how far before the first as-of day its longest window reaches (length
        minus one); its rows from then to the last as-of day are read, for the points'
        accounts (omit for a CTE already cut to the days and accounts needed),
      totals: running-total columns of the tile to open the timeline with: the totals of each
        account's last tile before those days, as `<total>_opening` on an opening row dated
        just before them (0 elsewhere).
    Every measure is 0 on rows of other sources and on the points.
-#}
{% macro timeline(name, points, bounds, sources) -%}
    {%- set measures = [] -%}
    {%- set totals = [] -%}
    {%- for source in sources -%}
        {%- do measures.extend(source.get('measures', [])) -%}
        {%- do totals.extend(source.get('totals', [])) -%}
    {%- endfor -%}
{{ name }}_accounts as (

    select distinct account_id from {{ points }}

),

{%- for source in sources if source.get('totals') %}

{{ name }}_openings_{{ loop.index }} as (

    -- Running totals of each account's last tile before the timeline: the state it opens with.
    select
        tiles.account_id,
        {%- for total in source['totals'] %}
        max_by(tiles.{{ total }}, tiles.activity_date) as {{ total }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source['relation'] }} as tiles
    inner join {{ name }}_accounts on {{ name }}_accounts.account_id = tiles.account_id
    cross join {{ bounds }}
    where tiles.activity_date < {{ add_days(bounds ~ '.start_date', -source['lookback_days']) }}
    group by tiles.account_id

),
{%- endfor %}

{{ name }}_timeline as (
    {%- for source in sources %}
    {%- set own = source.get('measures', []) %}

    select
        tiles.account_id,
        {{ day_number('tiles.activity_date') }} as day_number,
        cast(null as date) as as_of_date,
        {%- for measure in measures %}
        {{ 'tiles.' ~ measure if measure in own else '0' }} as {{ measure }},
        {%- endfor %}
        {%- for total in totals %}
        0 as {{ total }}_opening,
        {%- endfor %}
        0 as is_point
    from {{ source['relation'] }} as tiles
    {%- if source.get('lookback_days') is not none %}
    inner join {{ name }}_accounts on {{ name }}_accounts.account_id = tiles.account_id
    cross join {{ bounds }}
    where tiles.activity_date between {{ add_days(bounds ~ '.start_date', -source['lookback_days']) }}
        and {{ bounds }}.end_date
    {%- endif %}
    union all
    {%- if source.get('totals') %}
    {%- set openings = name ~ '_openings_' ~ loop.index %}
    select
        {{ openings }}.account_id,
        {{ day_number(add_days(bounds ~ '.start_date', -source['lookback_days'] - 1)) }},
        cast(null as date),
        {%- for measure in measures %}
        0,
        {%- endfor %}
        {%- for total in totals %}
        {{ openings ~ '.' ~ total if total in source['totals'] else '0' }},
        {%- endfor %}
        0
    from {{ openings }}
    cross join {{ bounds }}
    union all
    {%- endif %}
    {%- endfor %}
    select
        account_id,
        day_number,
        as_of_date,
        {%- for measure in measures %}
        0,
        {%- endfor %}
        {%- for total in totals %}
        0,
        {%- endfor %}
        1
    from {{ points }}

)
{%- endmacro %}

{#- Deltas whose running sum, per account and day, is the number of distinct entities seen in
    the trailing `window_days` days. Each occurrence counts from its day until the entity's next
    occurrence or until the window lapses, whichever comes first, so intervals never overlap and
    a running sum of +1/-1 is exact. `occurrences` must have account_id, entity_id,
    activity_date, one row per distinct (account_id, entity_id, activity_date), and hold every
    occurrence from `window_days - 1` days before the first as-of day on: earlier ones have
    lapsed by then, later ones never reach back. -#}
{% macro distinct_in_window_deltas(occurrences, window_days, delta_name) -%}
    select
        account_id,
        activity_date,
        sum(delta) as {{ delta_name }}
    from (
        select
            account_id,
            activity_date,
            1 as delta
        from {{ occurrences }}
        union all
        select
            account_id,
            least(
                coalesce(next_activity_date, {{ add_days('activity_date', window_days) }}),
                {{ add_days('activity_date', window_days) }}
            ) as activity_date,
            -1 as delta
        from (
            select
                account_id,
                activity_date,
                lead(activity_date) over (
                    partition by account_id, entity_id order by activity_date
                ) as next_activity_date
            from {{ occurrences }}
        ) as with_next
    ) as deltas
    group by account_id, activity_date
{%- endmacro %}

{#-
    The feature mart's relation when it exists and is being extended (not on a full refresh):
    without vars, feature models build the days after its last one. A compile-time lookup
    through the graph, because the feature models sit upstream of the mart and cannot ref it.
-#}
{% macro feature_mart_relation() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.fct_account_features_daily') -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}
