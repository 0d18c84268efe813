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

{#- A date as a whole number of days since 1970-01-01: the ORDER BY of RANGE window frames,
    whose offsets are numbers on both engines. -#}
{% macro day_number(date_expr) -%}
    {{ dbt.datediff("cast('1970-01-01' as date)", date_expr, 'day') }}
{%- endmacro %}

{#- Null-safe ratio: null when the denominator is zero. -#}
{% macro safe_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) > 0 then cast({{ numerator }} as {{ dbt.type_float() }}) / ({{ denominator }}) end
{%- endmacro %}
