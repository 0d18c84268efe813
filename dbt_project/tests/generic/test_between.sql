{#-
    Rows whose value lies outside [min_value, max_value] (both inclusive). Nulls pass: a null
    ratio means "no denominator", which is a documented state, not a range violation. Either
    bound may be omitted for a one-sided check. Portable SQL: plain comparisons only.
-#}
{% test between(model, column_name, min_value=none, max_value=none) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("between: give min_value, max_value or both") }}
{%- endif %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where {{ column_name }} is not null
    and (
        {%- if min_value is not none %}
        {{ column_name }} < {{ min_value }}
        {%- endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %}
        {{ column_name }} > {{ max_value }}
        {%- endif %}
    )

{% endtest %}
