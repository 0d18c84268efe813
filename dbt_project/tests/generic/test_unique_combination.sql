{#-
    Rows of a model whose combination of `columns` appears more than once: the grain check
    dbt-core's `unique` cannot express for a compound key. Portable SQL, no packages.
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
