{#-
    Windows over sparse tiles, for the as-of points asked (the feature models under
    models/intermediate/features/). A family's "timeline" holds, per account, its tiles in the
    days its windows reach and one opening row with the running totals of its last tile before
    them. Every feature is a sum (or max) over the timeline rows up to the as-of day, some
    restricted to the last N days: declared once per family (`timeline`'s sources) and read
    with `trailing`, `to_date` and `latest`. Two evaluations, chosen at compile time, give the
    same numbers (integer and decimal sums are exact; tests compare them):

    - `windows`, for many as-of days (whole-history builds): the as-of points join the
      timeline as rows of their own, each tile gets an "expiry" copy N days later with the
      measure negated (one per window length N), and a running sum over one sort per family,
      up to each point, is the sum over exactly (D-N, D]. No dense account-day grid, no
      per-window frame.
    - `join`, for up to 92 as-of days (the daily run, backfill runs, an intraday recompute):
      each point joins the timeline rows of its account up to its day, and a group-by sums
      them, the last N days through a condition. One pass over the tiles of the window, like a
      hand-written query. For one as-of day (the daily run, an intraday batch) every row read
      is of the day's window, so the rows are labelled with the point instead of joined to it
      (at 200,000 accounts the feature build's query went from 7.5 to 6.1 s and its peak buffer
      memory from 3.5 to 2.7 GB).
-#}

{#- The as-of window of a feature build, `min_date` or `max_date` (inclusive, 'YYYY-MM-DD'), or
    none: the var of that name (the dbt CLI, the near-real-time batch), else the environment
    variable VIGIL_FEATURES_MIN_DATE / VIGIL_FEATURES_MAX_DATE (Dagster's daily partitions).
    Why the environment: dbt's saved parse serves only a command with the same `--vars`, so a
    new day in the vars parses the whole project again. The environment is read only when a
    node runs (`execute`), never while dbt parses: dbt re-parses every file that read an
    environment variable during the parse when its value changes (the 12 feature files, 1.2 s
    of each near-real-time batch whose day moved on), and the day changes no ref, source or
    config, only the SQL compiled when the node runs. -#}
{% macro feature_date(name) -%}
    {%- if not execute -%}
        {{ return(var(name, none)) }}
    {%- endif -%}
    {%- set from_env = {
        'min_date': env_var('VIGIL_FEATURES_MIN_DATE', ''),
        'max_date': env_var('VIGIL_FEATURES_MAX_DATE', ''),
    } -%}
    {{ return(var(name, none) or from_env[name] or none) }}
{%- endmacro %}

{#- The first or last as-of day (`feature_date`: 'min_date' or 'max_date') as a date literal, or
    none. -#}
{% macro feature_day(name) -%}
    {%- set day = feature_date(name) -%}
    {{ return("cast('" ~ day ~ "' as date)" if day else none) }}
{%- endmacro %}

{#- The same bounds as constants, when the build's as-of days are known when it compiles (the
    daily run, a backfill run, an intraday batch): `and <column> between <first day - lookback>
    and <last day>`. Implied by the bounds the family computes from its as-of points (they are
    the window's days, `int_features_as_of_days`; a unit test that mocks them sets the window to
    their days), but those come from a CTE, and a warehouse skips the blocks of a table (row
    groups, micro-partitions) by constants only. With the tiles stored in day order
    (`in_order_of`), the window's tiles are read without the rest of history. -#}
{% macro within_known_days(column, lookback_days=0) -%}
    {%- set first, last = feature_day('min_date'), feature_day('max_date') -%}
    {%- if first %} and {{ column }} >= {{ add_days(first, -lookback_days) }}{% endif -%}
    {%- if last %} and {{ column }} <= {{ last }}{% endif -%}
{%- endmacro %}

{#- `join` when the build's window (`feature_date`) holds at most 92 as-of days (a backfill run, a day, an intraday
    recompute), else `windows`: a point joins up to (its days since the first as-of day + 89)
    days of tiles, so the join's cost grows with the square of the days asked, the windows'
    only with tiles + points. Measured on the demo data (20k accounts, CPU seconds): 1 day
    2 (join), 30 days 24 (join) vs 41 (windows), 88 days 89 (join) vs 106 (windows). -#}
{% macro feature_strategy() -%}
    {%- set first, last = feature_date('min_date'), feature_date('max_date') -%}
    {%- if first and last -%}
        {%- set days = (modules.datetime.date.fromisoformat(last | string)
            - modules.datetime.date.fromisoformat(first | string)).days + 1 -%}
        {{ return('join' if days <= 92 else 'windows') }}
    {%- endif -%}
    {{ return('windows') }}
{%- endmacro %}

{#- True when the build's window is one as-of day (the daily run, an intraday batch): `join`'s
    timeline then needs no join (macro `timeline`). -#}
{% macro single_as_of_day() -%}
    {%- set first, last = feature_date('min_date'), feature_date('max_date') -%}
    {{ return(first is not none and last is not none and (first | string) == (last | string)) }}
{%- endmacro %}

{#- The sum of a timeline column up to and including the as-of day. -#}
{% macro to_date(column) -%}
    {%- if feature_strategy() == 'join' -%}
    coalesce(sum({{ column }}), 0)
    {%- else -%}
    sum({{ column }}) over (
        partition by account_id order by day_number
        range between unbounded preceding and current row
    )
    {%- endif -%}
{%- endmacro %}

{#- The sum of a measure over the `days` days up to and including the as-of day (its timeline
    column `<measure>__<days>d`, see `timeline`'s `windows`). -#}
{% macro trailing(measure, days) -%}
    {%- set column = measure ~ '__' ~ days ~ 'd' -%}
    {%- if feature_strategy() == 'join' -%}
    coalesce(sum(case when tile_day_number > day_number - {{ days }} then {{ column }} end), 0)
    {%- else -%}
    {{ to_date(column) }}
    {%- endif -%}
{%- endmacro %}

{#- The largest value of a timeline column up to and including the as-of day. -#}
{% macro latest(column) -%}
    {%- if feature_strategy() == 'join' -%}
    max({{ column }})
    {%- else -%}
    max({{ column }}) over (
        partition by account_id order by day_number
        range between unbounded preceding and current row
    )
    {%- endif -%}
{%- endmacro %}

{#- Ends a select of `trailing`/`to_date`/`latest` over a timeline: one row per as-of point. -#}
{% macro per_point() -%}
    {%- if feature_strategy() == 'join' %}
    group by account_id, as_of_date, day_number, is_point
    {%- endif -%}
{%- endmacro %}

{#-
    CTEs `<name>_accounts` and `<name>_timeline` for one family, from any number of sources.
    points: the as-of points CTE (account_id, as_of_date, day_number); bounds: a one-row CTE
    with start_date and end_date; sources: a list of dicts, each with
      relation: a tile model (or a CTE with account_id and activity_date),
      windows: {measure: [window lengths in days]}: trailing sums of a daily measure, read
        with `trailing(measure, days)` (column `<measure>__<days>d`),
      running: [measures]: summed up to the day as they are (`to_date(measure)`): deltas, and the
        daily measures of running totals,
      totals: [running-total columns of the tile]: the totals of each account's last tile before
        the timeline's days, as `<total>_opening` on an opening row dated just before them,
      lookback_days: how far before the first as-of day the longest window reaches (its length
        minus one): the source's rows from then to the last as-of day are read, for the points'
        accounts (omit for a CTE already cut to the accounts and the days needed; its rows dated
        after the as-of days are not read).
    Names must be unique across sources. Every column is 0 on other rows.
-#}
{% macro timeline(name, points, bounds, sources) -%}
    {%- set columns = [] -%}
    {%- for source in sources -%}
        {%- for measure, lengths in source.get('windows', {}).items() -%}
            {%- for days in lengths -%}
                {%- do columns.append(measure ~ '__' ~ days ~ 'd') -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do columns.extend(source.get('running', [])) -%}
        {%- for total in source.get('totals', []) -%}
            {%- do columns.append(total ~ '_opening') -%}
        {%- endfor -%}
    {%- endfor -%}
{{ name }}_accounts as (

    select distinct account_id from {{ points }}

),

{%- for source in sources %}
{%- set index = loop.index %}

{{ name }}_rows_{{ index }} as (

    select tiles.*
    from {{ source['relation'] }} as tiles
    {%- if source.get('lookback_days') is not none %}
    inner join {{ name }}_accounts on {{ name }}_accounts.account_id = tiles.account_id
    cross join {{ bounds }}
    where tiles.activity_date between {{ add_days(bounds ~ '.start_date', -source['lookback_days']) }}
        and {{ bounds }}.end_date
        {{- within_known_days('tiles.activity_date', source['lookback_days']) }}
        {{- only_contributing_tiles('tiles', source) }}
    {%- endif %}

),
{%- if source.get('totals') %}

{{ name }}_openings_{{ index }} as (

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
{%- endif %}
{%- endfor %}

{%- if feature_strategy() == 'join' %}

{{ name }}_contributions as (
    {%- for source in sources %}
    {%- set rows = name ~ '_rows_' ~ loop.index %}
    {%- set windows = source.get('windows', {}) %}
    {%- set running = source.get('running', []) %}

    select
        {{ rows }}.account_id,
        {{ day_number(rows ~ '.activity_date') }} as tile_day_number,
        {%- for column in columns %}
        {%- set parts = column.split('__') %}
        {%- if parts | length == 2 and parts[0] in windows %}
        {{ rows }}.{{ parts[0] }} as {{ column }}{{ ',' if not loop.last }}
        {%- elif column in running %}
        {{ rows }}.{{ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- else %}
        0 as {{ column }}{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from {{ rows }}
    {%- if source.get('totals') %}
    {%- set openings = name ~ '_openings_' ~ loop.index %}
    union all
    select
        {{ openings }}.account_id,
        {{ day_number(add_days(bounds ~ '.start_date', -source['lookback_days'] - 1)) }},
        {%- for column in columns %}
        {%- if column.endswith('_opening') and column[:-8] in source['totals'] %}
        {{ openings }}.{{ column[:-8] }}{{ ',' if not loop.last }}
        {%- else %}
        0{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from {{ openings }}
    cross join {{ bounds }}
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

{{ name }}_timeline as (
    {%- if single_as_of_day() %}

    -- One as-of day: each account has one point, and every row of its account up to the day is
    -- the point's, labelled without a join: the sources hold only the points' accounts (tiles
    -- are cut to them above, CTE sources come cut), and the condition drops what a CTE source
    -- dates after the day (a distinct count's expiries). The point's own row, all nulls, keeps
    -- an account without any rows, as the join's outer row would.
    select
        contributions.account_id,
        {{ bounds }}.end_date as as_of_date,
        {{ day_number(bounds ~ '.end_date') }} as day_number,
        1 as is_point,
        contributions.tile_day_number,
        {%- for column in columns %}
        contributions.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ name }}_contributions as contributions
    cross join {{ bounds }}
    where contributions.tile_day_number <= {{ day_number(bounds ~ '.end_date') }}
    union all
    select
        account_id,
        as_of_date,
        day_number,
        1,
        null,
        {%- for column in columns %}
        null{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ points }}
    {%- else %}

    -- Each as-of point with every timeline row of its account up to its day.
    select
        {{ points }}.account_id,
        {{ points }}.as_of_date,
        {{ points }}.day_number,
        1 as is_point,
        contributions.tile_day_number,
        {%- for column in columns %}
        contributions.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ points }}
    left join {{ name }}_contributions as contributions
        on contributions.account_id = {{ points }}.account_id
        and contributions.tile_day_number <= {{ points }}.day_number
    {%- endif %}

)
{%- else %}

{{ name }}_timeline as (
    {%- for source in sources %}
    {%- set rows = name ~ '_rows_' ~ loop.index %}
    {%- set windows = source.get('windows', {}) %}
    {%- set running = source.get('running', []) %}
    {%- set lengths = [] %}
    {%- for measure_lengths in windows.values() %}{% for days in measure_lengths %}{% if days not in lengths %}{% do lengths.append(days) %}{% endif %}{% endfor %}{% endfor %}

    select
        {{ rows }}.account_id,
        {{ day_number(rows ~ '.activity_date') }} as day_number,
        cast(null as date) as as_of_date,
        {%- for column in columns %}
        {%- set parts = column.split('__') %}
        {%- if parts | length == 2 and parts[0] in windows %}
        {{ rows }}.{{ parts[0] }} as {{ column }},
        {%- elif column in running %}
        {{ rows }}.{{ column }} as {{ column }},
        {%- else %}
        0 as {{ column }},
        {%- endif %}
        {%- endfor %}
        0 as is_point
    from {{ rows }}
    {%- for days in lengths %}
    union all
    -- Expiry: the tile leaves its {{ days }}-day windows {{ days }} days later.
    select
        {{ rows }}.account_id,
        {{ day_number(rows ~ '.activity_date') }} + {{ days }},
        cast(null as date),
        {%- for column in columns %}
        {%- set parts = column.split('__') %}
        {%- if parts | length == 2 and parts[0] in windows and parts[1] == days ~ 'd' %}
        -{{ rows }}.{{ parts[0] }},
        {%- else %}
        0,
        {%- endif %}
        {%- endfor %}
        0
    from {{ rows }}
    cross join {{ bounds }}
    where {{ rows }}.activity_date < {{ add_days(bounds ~ '.end_date', 1 - days) }}
    {%- endfor %}
    {%- if source.get('totals') %}
    {%- set openings = name ~ '_openings_' ~ loop.index %}
    union all
    select
        {{ openings }}.account_id,
        {{ day_number(add_days(bounds ~ '.start_date', -source['lookback_days'] - 1)) }},
        cast(null as date),
        {%- for column in columns %}
        {%- if column.endswith('_opening') and column[:-8] in source['totals'] %}
        {{ openings }}.{{ column[:-8] }},
        {%- else %}
        0,
        {%- endif %}
        {%- endfor %}
        0
    from {{ openings }}
    cross join {{ bounds }}
    {%- endif %}
    union all
    {%- endfor %}
    select
        account_id,
        day_number,
        as_of_date,
        {%- for column in columns %}
        0,
        {%- endfor %}
        1
    from {{ points }}

)
{%- endif %}
{%- endmacro %}

{#- For one as-of day, `and (...)`: only the tiles that add to one of the source's windows, that
    is a tile with a measure other than 0 in a window that reaches back to its day. Every window
    column is a sum (`trailing`), so a tile that adds 0 to each changes nothing. A 90-day window
    otherwise reads every tile of the 90 days for the few measures that need them: at 200,000
    accounts the bidding family read 3.1 million bid tiles, 2.0 million of them older than its
    30-day windows and 72,000 of those with a 90-day measure. Empty for a source with running
    columns (they add up every tile, and `latest` takes their max) and for several as-of days. -#}
{% macro only_contributing_tiles(alias, source) -%}
    {%- set windows = source.get('windows', {}) -%}
    {%- if single_as_of_day() and windows and not source.get('running') -%}
        {%- set day = feature_day('max_date') -%}
        {%- set by_length = {} -%}
        {%- for measure, lengths in windows.items() -%}
            {%- for days in lengths -%}
                {%- do by_length.setdefault(days, []).append(measure) -%}
            {%- endfor -%}
        {%- endfor %}
        and (
            {%- for days in by_length | sort %}
            ({{ alias }}.activity_date > {{ add_days(day, -days) }} and (
                {%- for measure in by_length[days] -%}
                {{ alias }}.{{ measure }} <> 0{{ ' or ' if not loop.last }}
                {%- endfor -%}
            )){{ ' or' if not loop.last }}
            {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- Deltas whose running sum, per account and day, is the number of distinct entities seen in
    the trailing `window_days` days. Each occurrence counts from its day until the entity's next
    occurrence or until the window lapses, whichever comes first, so intervals never overlap and
    a running sum of +1/-1 is exact. `occurrences` must have account_id, entity_id,
    activity_date, one row per distinct (account_id, entity_id, activity_date), and hold every
    occurrence from `window_days - 1` days before the first as-of day on: earlier ones have
    lapsed by then, later ones never reach back.
    For one as-of day (the daily run, an intraday batch) the count itself is the one delta,
    dated on the day: a group-by instead of a window function over every occurrence and a
    group-by of the deltas (at 200,000 accounts, ~2 s of the feature query's 11.6 s of CPU).
    A missing entity id counts as one entity, as it does in the deltas. -#}
{% macro distinct_in_window_deltas(occurrences, window_days, delta_name) -%}
    {%- if single_as_of_day() %}
    {%- set day = feature_day('max_date') %}
    select
        account_id,
        {{ day }} as activity_date,
        count(distinct entity_id) + max(case when entity_id is null then 1 else 0 end) as {{ delta_name }}
    from {{ occurrences }}
    where activity_date between {{ add_days(day, 1 - window_days) }} and {{ day }}
    group by account_id
    {%- else %}
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
    {%- endif %}
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

{#- `with x as {{ materialized_cte() }} (...)`: DuckDB computes the CTE once, on its own, before
    the query that reads it; int_features_joined marks each family
    so. Without it DuckDB plans the families inside the one join pipeline and holds every
    finished family's hash table while it computes the next: a 7-day backfill run at 1M accounts
    ran out of memory at 4 GB and at 6 GB; marked, the same run fits at 4 GB (BENCHMARKS.md,
    "Feature engine"). The families' results still stay in memory for the join, so a run's
    memory grows with its as-of points: days per run (VIGIL_BACKFILL_DAYS_PER_RUN) bound it.
    Snowflake has no such hint and plans CTEs itself. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}
