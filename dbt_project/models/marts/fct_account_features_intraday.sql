{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
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

    One run computes one batch: var `feature_accounts` (a relation with `batch_id` and
    `account_id`, the batch's accounts) and `min_date` = `max_date` (the as-of day, in the
    environment: macro `feature_date`). Each row takes its batch id from that relation, so the
    vars never change and dbt's saved parse serves every batch. Without `feature_accounts`
    the run adds nothing. Every batch's rows are kept (appended): a decision taken on them can
    be explained from the exact vector scored.
-#}
{%- set batch_accounts = var('feature_accounts', none) %}
{#- Checked when the model runs, not at parse: other models may use the same days. -#}
{%- if execute and batch_accounts and (not feature_date('min_date') or feature_date('min_date') != feature_date('max_date')) -%}
    {{ exceptions.raise_compiler_error("an intraday batch needs var feature_accounts and min_date = max_date (one as-of day)") }}
{%- endif %}
with

features as (

    select * from {{ ref('int_features_joined') }}

),

{%- if batch_accounts %}

batch_accounts as (

    select batch_id, account_id from {{ batch_accounts }}

),
{%- endif %}

final as (

    select
        {%- if batch_accounts %}
        cast(batch_accounts.batch_id as {{ dbt.type_string() }}) as batch_id,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as batch_id,
        {%- endif %}
        {{ change_log_ingested_through() }} as features_ingested_through,
        features.*
    from features
    {%- if batch_accounts %}
    inner join batch_accounts on batch_accounts.account_id = features.account_id
    {%- else %}
    where false
    {%- endif %}

)

select * from final
