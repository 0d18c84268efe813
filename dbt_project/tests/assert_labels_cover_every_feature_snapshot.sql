-- fct_account_labels_daily labels exactly the snapshots of fct_account_features_daily: a
-- snapshot without a label (or a label without a snapshot) is returned. A check of the labels:
-- it runs when they are built, not with a feature day (that asset excludes it).
{{ config(meta={'dagster': {'ref': {'name': 'fct_account_labels_daily'}}}) }}
with

features as (

    select account_id, as_of_date from {{ ref('fct_account_features_daily') }}

),

labels as (

    select account_id, as_of_date from {{ ref('fct_account_labels_daily') }}

),

unmatched as (

    select features.account_id, features.as_of_date, 'snapshot without a label' as problem
    from features
    left join labels
        on labels.account_id = features.account_id and labels.as_of_date = features.as_of_date
    where labels.account_id is null
    union all
    select labels.account_id, labels.as_of_date, 'label without a snapshot'
    from labels
    left join features
        on features.account_id = labels.account_id and features.as_of_date = labels.as_of_date
    where features.account_id is null

)

select * from unmatched
