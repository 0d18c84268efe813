{#-
    Incremental staging: each run reads only the raw rows ingested since the model's last run
    (`_ingested_at`, raw tables are append-only) and merges them with what it already holds.
    The merge is exact, so a full refresh gives the same rows: "newest `_loaded_at` wins" and
    "first loaded" are a max and a min, which can be taken in any number of steps.
-#}

{#- Raw rows not yet staged: everything on a full build, else those ingested after the model's
    newest `ingested_at`. Raw tables are written in ingestion order, so this reads the tail. -#}
{% macro raw_rows_since_last_run(relation) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where _ingested_at > {{ ingested_through(column='ingested_at') }}
    {%- endif %}
{%- endmacro %}

{#-
    One row per id, the newest version (by loaded_at, then the later source file and row, as a
    full build ranks them), with first_loaded_at (the earliest load: when the id became
    knowable) and ingested_at (the newest ingestion of any version: the downstream high-water
    mark). `renamed` holds the new raw rows, typed, with loaded_at = first_loaded_at per row.

    Events are facts: a re-sent row is a copy with a later `_loaded_at`. Downstream
    incremental models rely on it for `guarded_columns` (who, when, what: the columns that
    place an event in a tile; by default every content column): they re-open the days an event
    can land on, not every day it could have moved from. When an incremental run sees a re-sent
    row change a guarded column of an event it had already staged, it sets
    `is_changed_by_resend`, whose test fails the build: rebuild with `dbt build --full-refresh`
    (a full build handles any content correctly and clears the flag). Other columns (a show's
    end time) may change freely: the newest version wins.
-#}
{% macro newest_version_per_id(renamed, id, content_columns, guarded_columns=none) -%}
    {%- set guarded_columns = guarded_columns or content_columns -%}
    {%- set lineage = ['loaded_at', 'first_loaded_at', 'ingested_at', 'source_file', 'source_row'] -%}
    {%- set columns = [id] + content_columns + lineage -%}
candidates as (

    select {{ columns | join(', ') }}, false as is_changed_by_resend, false as is_stored
    from {{ renamed }}
    {%- if is_incremental() %}
    union all
    select {{ columns | join(', ') }}, is_changed_by_resend, true as is_stored
    from ({{ rows_with_keys(this, id, 'select ' ~ id ~ ' from ' ~ renamed) }}) as stored
    {%- endif %}

),

newest as (

    select
        {{ id }},
        {%- for column in content_columns %}
        {{ column }},
        {%- endfor %}
        loaded_at,
        min(first_loaded_at) over (partition by {{ id }}) as first_loaded_at,
        max(ingested_at) over (partition by {{ id }}) as ingested_at,
        source_file,
        source_row,
        max(case when is_changed_by_resend then 1 else 0 end) over (partition by {{ id }}) = 1 as was_changed_by_resend
    from candidates
    qualify row_number() over (
        partition by {{ id }}
        order by loaded_at desc, source_file desc, source_row desc
    ) = 1

),

flagged as (

    select
        newest.{{ id }},
        {%- for column in content_columns %}
        newest.{{ column }},
        {%- endfor %}
        newest.loaded_at,
        newest.first_loaded_at,
        newest.ingested_at,
        newest.source_file,
        newest.source_row,
        {%- if is_incremental() %}
        newest.was_changed_by_resend
        or (
            stored.{{ id }} is not null
            and (
                {%- for column in guarded_columns %}
                newest.{{ column }} is distinct from stored.{{ column }}{{ ' or' if not loop.last }}
                {%- endfor %}
            )
        ) as is_changed_by_resend
    from newest
    left join candidates as stored
        on stored.{{ id }} = newest.{{ id }} and stored.is_stored
        {%- else %}
        newest.was_changed_by_resend as is_changed_by_resend
    from newest
        {%- endif %}

)
{%- endmacro %}

{#- Lineage columns of a raw row, typed and named for staging. -#}
{% macro staged_lineage_columns() -%}
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_row as {{ dbt.type_int() }}) as source_row
{%- endmacro %}
