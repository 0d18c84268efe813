{#-
    The incremental engine's shared pieces. See README.md, "Incremental feature engine".

    High-water marks: every incremental model records, in `_ingested_through`, the newest raw
    ingestion (`raw.*._ingested_at`, the warehouse's own clock, in ingestion order) its rows
    reflect; staging models carry `ingested_at` per row. A run processes what was ingested
    after its own mark, so a model that missed a run (a failure, a partial selection) catches
    up on the next one. Re-processing is always safe: every model recomputes the rows it
    touches from the current state of its inputs, never by adding to what it stored.
-#}

{#- The model's own high-water mark: the newest ingestion its stored rows reflect. -#}
{% macro ingested_through(relation=none, column='_ingested_through') -%}
    (select coalesce(max({{ column }}), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ relation or this }})
{%- endmacro %}

{#- Accounts whose features may have changed since this model's last run, with the first day
    that may have changed (from the change log `int_account_changes`). -#}
{% macro changed_accounts() -%}
    select account_id, min(changed_from) as changed_from
    from {{ ref('int_account_changes') }}
    {% if is_incremental() -%}
    where _ingested_through > {{ ingested_through() }}
    {%- endif %}
    group by account_id
{%- endmacro %}

{#- The high-water mark a consumer of the change log records: the newest log entry. -#}
{% macro change_log_ingested_through() -%}
    (select max(_ingested_through) from {{ ref('int_account_changes') }})
{%- endmacro %}

{#-
    Replace strategy (`incremental_strategy='replace'`): the model returns, for every key it
    re-opens, the rows that key now has, plus two columns only present on incremental runs:
    `_replace_from` (with `replace_range`: re-open the key's rows from this value on; without:
    the key's rows) and `_is_placeholder` (a key that now has no rows: delete only). Stored rows
    of re-opened keys are deleted and the new rows inserted, in one statement batch; keys not
    re-opened are untouched. dbt's delete+insert cannot express this: it only deletes keys that
    still have rows, so a tile whose last event moved to another day would linger.
    Configure with `replace_key` (column or list) and optionally `replace_range` (a column).
-#}
{% macro get_incremental_replace_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_rows_sql', 'vigil')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_rows_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set keys = config.require('replace_key') -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set range_column = config.get('replace_range') -%}
    {%- set earliest = none -%}
    {%- if range_column and execute -%}
        {#- The earliest re-opened value, as a literal: a warehouse prunes storage by a constant,
            not by a subquery (at 200,000 accounts DuckDB's delete took 2 s instead of 0.1). -#}
        {%- set earliest = run_query('select min(_replace_from) from ' ~ source).columns[0].values()[0] -%}
        {%- set range_type = (arg_dict['dest_columns'] | selectattr('name', 'in', [range_column, range_column | upper]) | first).data_type -%}
    {%- endif -%}
    delete from {{ target }}
    where exists (
        select 1
        from {{ source }} as replaced
        where {% for key in keys -%}
            replaced.{{ key }} = {{ target }}.{{ key }}{{ ' and ' if not loop.last }}
        {%- endfor %}
        {%- if range_column %}
            and {{ target }}.{{ range_column }} >= replaced._replace_from
        {%- endif %}
    )
    {%- if range_column and earliest is not none %}
        -- Implied by the above; lets the engine skip the old parts of the table.
        and {{ target }}.{{ range_column }} >= cast('{{ earliest }}' as {{ range_type }})
    {%- endif %};
    insert into {{ target }} ({{ get_quoted_csv(columns) }})
    select {{ get_quoted_csv(columns) }}
    from {{ source }}
    where not _is_placeholder
    {%- if range_column %}
    order by {{ range_column }}
    {%- endif %}
{%- endmacro %}

{% macro snowflake__replace_rows_sql(arg_dict) -%}
    {{ return(snowflake_dml_explicit_transaction(default__replace_rows_sql(arg_dict))) }}
{%- endmacro %}

{#-
    The model's final select under the replace strategy. `rows`: the rows of the re-opened
    keys (a CTE name); `scope`: one row per re-opened key with `replace_from` (a CTE name), or
    none when each row re-opens its own key from its `range_column` value and no key loses
    its rows (`int_bidder_firsts`, `int_bids_dated`: one row per key, written from its day).
    Full builds return `rows` as they are.
-#}
{% macro replace_rows(rows, scope, keys, range_column=none) -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- if is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) -%}
    select
        {%- for column in columns %}
        {{ rows }}.{{ column.quoted }},
        {%- endfor %}
        {{ rows ~ '.' ~ range_column if scope is none else scope ~ '.replace_from' }} as _replace_from,
        false as _is_placeholder
    from {{ rows }}
    {%- if scope is not none %}
    inner join {{ scope }}
        on {% for key in keys %}{{ scope }}.{{ key }} = {{ rows }}.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    union all
    select
        {%- for column in columns %}
        {%- if column.name | lower in keys %}
        {{ scope }}.{{ column.quoted }},
        {%- else %}
        cast(null as {{ column.data_type }}) as {{ column.quoted }},
        {%- endif %}
        {%- endfor %}
        {{ scope }}.replace_from as _replace_from,
        true as _is_placeholder
    from {{ scope }}
    where not exists (
        select 1 from {{ rows }}
        where {% for key in keys %}{{ rows }}.{{ key }} = {{ scope }}.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    )
    {%- endif %}
    {%- else -%}
    select * from {{ rows }}
    {%- if range_column %}{{ in_order_of(range_column) }}{% endif %}
    {%- endif -%}
{%- endmacro %}

{#- The newest ingestion among staging rows the model reads (`relations`: refs), counting only
    rows after `since` on incremental runs (a short read of each table's tail). -#}
{% macro staged_through(relations) -%}
    {%- set since = ingested_through() if is_incremental() else "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" -%}
    {{ staged_through_since(since, relations) }}
{%- endmacro %}

{% macro staged_through_since(since, relations) -%}
    greatest(
        {%- for relation in relations %}
        coalesce((select max(ingested_at) from {{ relation }} where ingested_at > {{ since }}), {{ since }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#-
    Running totals ("ever" features) kept on each tile: `totals` maps a daily measure to the
    name of its running total through the tile's day. A full build sums each account's tiles in
    order; an incremental run re-opens an account from `replace_from` (in `scope`) and starts
    from the totals of its last stored tile before that day.
-#}
{% macro with_running_totals(tiles, scope, totals) -%}
    {%- if is_incremental() %}
opening_totals as (

    select
        stored.account_id,
        {%- for total in totals.values() %}
        max_by(stored.{{ total }}, stored.activity_date) as {{ total }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored
    inner join {{ scope }}
        on {{ scope }}.account_id = stored.account_id
        and stored.activity_date < {{ scope }}.replace_from
    group by stored.account_id

),
    {%- endif %}

tiles_with_totals as (

    select
        {{ tiles }}.*,
        {%- for measure, total in totals.items() %}
        {% if is_incremental() %}coalesce(opening_totals.{{ total }}, 0) + {% endif -%}
        sum({{ tiles }}.{{ measure }}) over (
            partition by {{ tiles }}.account_id order by {{ tiles }}.activity_date
            rows between unbounded preceding and current row
        ) as {{ total }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ tiles }}
    {%- if is_incremental() %}
    left join opening_totals
        on opening_totals.account_id = {{ tiles }}.account_id
    {%- endif %}

)
{%- endmacro %}

{#-
    The tail every account-day tile model shares: `per_day` (a CTE name) holds the model's rows,
    keyed by `account_id` and `activity_date` (all of history on a full build, at least the
    re-opened days of changed accounts on an incremental one). It re-opens each changed
    account from its first day that may have changed (every account from its first day on a
    full build), adds the running totals named in `totals` (see `with_running_totals`) and the
    high-water mark, and returns the rows under the replace strategy. Emits CTEs from `scope`
    on and the final select: call it right after `per_day`'s closing "),".
-#}
{% macro rebuild_tiles(per_day, totals={}) -%}
scope as (

    {% if is_incremental() -%}
    select account_id, changed_from as replace_from from changed_accounts
    {%- else -%}
    select account_id, min(activity_date) as replace_from from {{ per_day }} group by account_id
    {%- endif %}

),

reopened as (

    select {{ per_day }}.*
    from {{ per_day }}
    inner join scope
        on scope.account_id = {{ per_day }}.account_id
        and {{ per_day }}.activity_date >= scope.replace_from

),
{%- if totals %}

{{ with_running_totals('reopened', 'scope', totals) }},
{%- endif %}

final as (

    select *, {{ change_log_ingested_through() }} as _ingested_through
    from {{ 'tiles_with_totals' if totals else 'reopened' }}

)

{{ replace_rows('final', 'scope', 'account_id', 'activity_date') }}
{%- endmacro %}

{#-
    An import CTE that its model reads more than once, each time for a few rows (the re-opened
    accounts' days, the new bids), is declared `{{ inlined() }}`: DuckDB materializes a CTE read
    more than once, every row and column of the table, before any reader's filter applies (at
    200,000 accounts, 10 million bids copied to find 50,000). Inlined, each read scans only the
    columns and row groups it needs. Other warehouses plan CTEs their own way: nothing to say.
-#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'vigil')()) }}
{%- endmacro %}

{% macro default__inlined() -%}{%- endmacro %}

{% macro duckdb__inlined() -%}not materialized{%- endmacro %}

{#-
    A full build writes a big table in the order of the day its readers filter on. DuckDB keeps
    each row group's min and max (Snowflake each micro-partition's) and skips those a filter
    rules out, so the mart reading the trailing 90 days of tiles, or a run deleting the days it
    re-opens, reads the recent part of the table however long the history. Incremental runs
    append what they rebuild, mostly recent days, so the order holds where it matters: a row
    group appended long ago ends before any recent window starts. Renders nothing on incremental
    runs (a model's final select ends with it).
-#}
{% macro in_order_of(column) -%}
    {%- if not is_incremental() %}
    order by {{ column }}
    {%- endif %}
{%- endmacro %}

{#-
    The stored rows of some keys: `select * from <relation> where <key> in (<keys>)`. No index
    serves such a lookup, and DuckDB reads every column of every row for it: at 200,000
    accounts a staging merge read all 10.3 million staged bids to find the 87 a run re-sent
    (2.4 s of scan). On DuckDB the keys are matched on the key columns alone, then their rows
    fetched by row id (0.23 s). Other warehouses prune by their own means. `key`: a column, or
    a list of them with `keys` a select of key tuples in that order.
-#}
{% macro rows_with_keys(relation, key, keys) -%}
    {{ return(adapter.dispatch('rows_with_keys', 'vigil')(relation, key, keys)) }}
{%- endmacro %}

{% macro _key_match(relation, key, keys) -%}
    {%- if key is string -%}
    {{ relation }}.{{ key }} in ({{ keys }})
    {%- else -%}
    exists (
        select 1 from ({{ keys }}) as keyed
        where {% for column in key %}keyed.{{ column }} = {{ relation }}.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{% macro default__rows_with_keys(relation, key, keys) -%}
    select * from {{ relation }} as keyed_rows where {{ _key_match('keyed_rows', key, keys) }}
{%- endmacro %}

{% macro duckdb__rows_with_keys(relation, key, keys) -%}
    select * from {{ relation }}
    where rowid in (select keyed_rows.rowid from {{ relation }} as keyed_rows where {{ _key_match('keyed_rows', key, keys) }})
{%- endmacro %}
