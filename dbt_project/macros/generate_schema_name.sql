{#- Where a model or seed with a custom schema (`staging`, `marts`, ...) is built.

    One rule for every Vigil schema, dbt-built or written by Vigil's Python (raw, ingest,
    risk): `ml/settings.py` (`schema_name`) applies the same rule, the sources' yml inlines it
    (yml cannot call macros), and tests/dbt/test_target_schemas.py checks that all three agree.
    - targets in var `vigil_plain_schema_targets` (production `snowflake`, and the embedded
      `local` DuckDB file, private to its user): the custom name as-is;
    - any other target (e.g. `snowflake_dev`): `<target.schema>_<custom>`, so a development
      target pointed at the production database never writes a production schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name in var('vigil_plain_schema_targets') -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
