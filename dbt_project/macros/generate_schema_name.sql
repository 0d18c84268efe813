{#- Use a model's custom schema as-is (`staging`, `marts`), so the same names exist in
    DuckDB and Snowflake; without one, the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
