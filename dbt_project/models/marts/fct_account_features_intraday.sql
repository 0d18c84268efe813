{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        tags=['near_real_time']
    )
}}
{#-
    Features of the accounts a near-real-time batch touched, as of the batch's day, with the
    daily mart's definitions (int_features_joined): the row an account would get in
    fct_account_features_daily if the day ended at the cut-off. The cut-off is
    `features_ingested_through`, the newest raw ingestion the engine's change log has processed:
    run after the incremental models of the same build (the `near_real_time` job does), every
    tile reflects it. An event counts once it was ingested by then, on the day it became
    knowable, as in the daily mart.

    One run computes one batch: vars `intraday_batch_id`, `feature_accounts` (a relation with
    account_id) and `min_date` = `max_date` (the as-of day). Without `intraday_batch_id` the
    run adds nothing. Every batch's rows are kept (appended): a decision taken on them can be
    explained from the exact vector scored.
-#}
{%- set batch_id = var('intraday_batch_id', none) %}
{%- if batch_id is not none %}
    {%- if not modules.re.fullmatch('[A-Za-z0-9_.:-]{1,128}', batch_id | string) -%}
        {{ exceptions.raise_compiler_error("var intraday_batch_id: letters, digits and _.:- only (1 to 128), got " ~ batch_id) }}
    {%- endif -%}
    {%- if not var('feature_accounts', none) or not var('min_date', none) or var('min_date') != var('max_date', none) -%}
        {{ exceptions.raise_compiler_error("an intraday batch needs vars feature_accounts and min_date = max_date (one as-of day)") }}
    {%- endif -%}
{%- endif %}
with

features as (

    select * from {{ ref('int_features_joined') }}

),

final as (

    select
        cast({{ "'" ~ batch_id ~ "'" if batch_id is not none else 'null' }} as {{ dbt.type_string() }}) as batch_id,
        {{ change_log_ingested_through() }} as features_ingested_through,
        features.*
    from features
    {%- if batch_id is none %}
    where false
    {%- endif %}

)

select * from final
