{#- Date helpers shared by the point-in-time models; portable through dbt's cross-db macros. -#}

{#- The day an event became knowable: when it happened, or when it was first loaded if later.
    Every point-in-time feature keys events on this day, never on the event time alone. -#}
{% macro visible_date(event_at, first_loaded_at) -%}
    cast(greatest({{ event_at }}, {{ first_loaded_at }}) as date)
{%- endmacro %}

{% macro add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro days_between(start_expr, end_expr) -%}
    {{ dbt.datediff(start_expr, end_expr, 'day') }}
{%- endmacro %}

{% macro hours_between(start_expr, end_expr) -%}
    ({{ dbt.datediff(start_expr, end_expr, 'second') }} / 3600.0)
{%- endmacro %}

{#- One row per day from start to end inclusive (both date expressions), as `day`.
    A recursive CTE: portable, and the spans here are at most a few thousand days. -#}
{% macro day_spine(start_expr, end_expr) -%}
    with recursive spine (day) as (
        select cast({{ start_expr }} as date)
        union all
        select {{ add_days('day', 1) }}
        from spine
        where day < cast({{ end_expr }} as date)
    )
    select day from spine
{%- endmacro %}

{#- Null-safe ratio: null when the denominator is zero. -#}
{% macro safe_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) > 0 then cast({{ numerator }} as {{ dbt.type_float() }}) / ({{ denominator }}) end
{%- endmacro %}
