{#-
    Data tests of incremental models check the rows written since the test last passed, not all
    of history: a day's build costs what the day's data costs, tests included.

    A test configured with `where: "__rows_not_yet_tested__"` (dbt_project.yml: every data
    test of staging, intermediate and the marts) reads the rows of its model whose high-water
    mark column, as its yml declares it (`ingested_at` in staging, `_ingested_through` in
    intermediate: the newest ingestion the row reflects, set anew on every row a run writes),
    is past the test's mark, the newest value it has passed on. A key test (`column_values`
    with a `unique_key`, dbt's `unique`) also reads every row whose key is among those rows, so
    a new row duplicating an old one is still caught. A model replaced by as-of day (the feature mart,
    no such column) is tested on the days the build asks for (`as_of_days_built`); any other
    model is tested whole.

    Marks (`dbt_test_marks` in the staging schema) advance in `on-run-end` for the tests that
    passed or warned, to the model's high-water mark: a failing test keeps failing on the next
    run until its rows are fixed; a warning is shown by the run that brought its rows, once.
    A model built from scratch (first build, `--full-refresh`, config `full_refresh`) drops its
    tests' marks in a pre-hook, so its tests read it whole; so does a `--full-refresh` test run,
    and any run with `--vars '{test_all_rows: true}'` (an audit of all history).
-#}

{% macro test_marks_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('staging', none),
        identifier='dbt_test_marks',
    )) }}
{%- endmacro %}

{#- on-run-start: the marks table (and its schema on a first build; as dbt does, only when
    missing: a production role may not create schemas). -#}
{% macro create_test_marks() -%}
    {%- set marks = test_marks_relation() -%}
    {%- if not adapter.check_schema_exists(marks.database, marks.schema) -%}
        {%- do adapter.create_schema(marks) -%}
    {%- endif -%}
    create table if not exists {{ marks }} (
        test_id {{ dbt.type_string() }},
        model_relation {{ dbt.type_string() }},
        tested_through {{ dbt.type_timestamp() }},
        recorded_at {{ dbt.type_timestamp() }},
        invocation_id {{ dbt.type_string() }}
    )
{%- endmacro %}

{#- pre-hook of staging and intermediate: a model built from scratch forgets its tests' marks. -#}
{% macro forget_test_marks_on_rebuild() -%}
    {%- if not is_incremental() -%}
    delete from {{ test_marks_relation() }} where model_relation = '{{ this }}'
    {%- endif -%}
{%- endmacro %}

{#- The high-water mark column its yml declares for a model node (the graph's, no query), or
    none: its tests then read the whole model. -#}
{% macro high_water_column(node) -%}
    {%- set declared = (node.columns or {}).keys() | map('lower') | list if node else [] -%}
    {%- for column in ['ingested_at', '_ingested_through'] -%}
        {%- if column in declared -%}{{ return(column) }}{%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__rows_not_yet_tested__' -%}
        {{ return(rows_not_yet_tested(relation)) }}
    {%- endif -%}
    {{ return(dbt.default__get_where_subquery(relation)) }}
{%- endmacro %}

{% macro rows_not_yet_tested(relation) -%}
    {%- if flags.FULL_REFRESH or var('test_all_rows', false) -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set parent = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set column = high_water_column(parent) -%}
    {%- if column is none -%}
        {%- if parent and parent.config.materialized == 'incremental' and parent.config.unique_key == 'as_of_date' -%}
            {{ return('(select * from ' ~ relation ~ ' where ' ~ as_of_days_built() ~ ') dbt_subquery') }}
        {%- endif -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set since -%}
        coalesce(
            (select max(tested_through) from {{ test_marks_relation() }} where test_id = '{{ model.unique_id }}'),
            cast('1900-01-01' as {{ dbt.type_timestamp() }})
        )
    {%- endset -%}
    {%- set kwargs = model.test_metadata.kwargs if model.test_metadata else {} -%}
    {%- set test_name = model.test_metadata.name if model.test_metadata else '' -%}
    {%- if test_name == 'unique' -%}
        {%- set keys = [kwargs['column_name']] -%}
    {%- elif test_name == 'column_values' -%}
        {%- set keys = kwargs.get('unique_key') or [] -%}
        {%- set keys = [keys] if keys is string else keys -%}
    {%- else -%}
        {%- set keys = [] -%}
    {%- endif -%}
    {%- if keys -%}
        {#- The new rows, and the old rows sharing a key with one (a key with a null shares
            none). A join, not `or exists (...)`: Snowflake evaluates no correlated subquery
            under `or`. -#}
        {%- set filtered -%}
            (select tested.* from {{ relation }} as tested
             left join (
                select distinct {{ keys | join(', ') }} from {{ relation }} where {{ column }} > {{ since }}
             ) as written
                on {% for key in keys %}written.{{ key }} = tested.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
             where tested.{{ column }} > {{ since }} or written.{{ keys[0] }} is not null) dbt_subquery
        {%- endset -%}
    {%- else -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ column }} > {{ since }}) dbt_subquery
        {%- endset -%}
    {%- endif -%}
    {{ return(filtered) }}
{%- endmacro %}

{#- The as-of days this build asks for (`min_date`/`max_date`: macro `feature_date`), as a
    predicate on `as_of_date`; every day without them (or in an audit). A model replaced by
    as-of day (the feature mart) rewrites exactly these days: the others were tested when built. -#}
{% macro as_of_days_built() -%}
    {%- set first, last = feature_date('min_date'), feature_date('max_date') -%}
    {%- if first and last and not flags.FULL_REFRESH and not var('test_all_rows', false) -%}
        as_of_date between cast('{{ first }}' as date) and cast('{{ last }}' as date)
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- on-run-end: each test that passed or warned marks its model's high-water mark as tested.
    Two statements whatever the number of models (a hook is one statement on Snowflake, so it
    runs them itself and renders to nothing): two per model cost a build ~0.2 s. -#}
{% macro record_test_marks(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set columns = {} -%}  {#- relation -> its high-water mark column, or none -#}
    {%- set tested = [] -%}  {#- (test id, relation) of the tests to mark -#}
    {%- for result in results
        if result.node.resource_type == 'test'
        and result.status in ('pass', 'warn')
        and result.node.config.get('where') == '__rows_not_yet_tested__'
        and result.node.attached_node in graph.nodes -%}
        {%- set parent = graph.nodes[result.node.attached_node] -%}
        {%- set relation = api.Relation.create(database=parent.database, schema=parent.schema, identifier=parent.alias) | string -%}
        {%- if relation not in columns -%}
            {%- do columns.update({relation: high_water_column(parent)}) -%}
        {%- endif -%}
        {%- if columns[relation] is not none -%}
            {%- do tested.append((result.node.unique_id, relation)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not tested -%}{{ return('') }}{%- endif -%}
    {%- set marks = test_marks_relation() -%}
    {%- set relations = tested | map(attribute=1) | unique | list -%}
    {%- do run_query("delete from " ~ marks ~ " where test_id in ('" ~ (tested | map(attribute=0) | join("', '")) ~ "')") -%}
    {%- set insert -%}
    insert into {{ marks }} (test_id, model_relation, tested_through, recorded_at, invocation_id)
    select tests.test_id, tests.model_relation, written.through, {{ dbt.current_timestamp() }}, '{{ invocation_id }}'
    from (
        {%- for relation in relations %}
        select '{{ relation }}' as model_relation, max({{ columns[relation] }}) as through from {{ relation }}
        {{- ' union all' if not loop.last }}
        {%- endfor %}
    ) as written
    inner join (
        {%- for test_id, relation in tested %}
        select '{{ test_id }}' as test_id, '{{ relation }}' as model_relation
        {{- ' union all' if not loop.last }}
        {%- endfor %}
    ) as tests
        on tests.model_relation = written.model_relation
    where written.through is not null
    {%- endset -%}
    {%- do run_query(insert) -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{%- endmacro %}
