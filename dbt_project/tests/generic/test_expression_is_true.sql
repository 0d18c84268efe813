{#-
    Rows for which `expression` (SQL over the model's columns) is not true: an invariant every
    row must satisfy. Nulls fail unless the expression handles them.
-#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
