-- Linked-account counts as running-sum deltas per account per day: +1 the day a link (or a
-- linked account's enforcement) became knowable, -1 the day it stopped holding.
with

links as (

    select * from {{ ref('int_account_links') }}

),

actioned as (

    select * from {{ ref('int_enforcement_status') }}

),

disputes as (

    select * from {{ ref('int_disputes_daily') }}

),

first_fraud_chargeback as (

    select account_id, min(activity_date) as flagged_from
    from disputes
    where fraud_chargebacks_as_buyer > 0 or not_received_chargebacks_as_seller > 0
    group by account_id

),

link_spans as (

    select
        account_id,
        link_type as measure,
        linked_from as span_from,
        linked_until as span_until
    from links

),

actioned_link_spans as (

    -- Linked (strongly) while the linked account was under a suspension or ban.
    select
        links.account_id,
        'actioned' as measure,
        greatest(links.linked_from, actioned.actioned_from) as span_from,
        least(links.linked_until, actioned.actioned_until) as span_until
    from links
    inner join actioned
        on actioned.account_id = links.linked_account_id
    where links.link_type = 'strong'

),

chargeback_link_spans as (

    -- Linked (strongly) to an account that already had a fraud or non-delivery chargeback.
    select
        links.account_id,
        'charged_back' as measure,
        greatest(links.linked_from, first_fraud_chargeback.flagged_from) as span_from,
        links.linked_until as span_until
    from links
    inner join first_fraud_chargeback
        on first_fraud_chargeback.account_id = links.linked_account_id
    where links.link_type = 'strong'

),

spans as (

    select * from link_spans
    union all
    select * from actioned_link_spans
    union all
    select * from chargeback_link_spans

),

deltas as (

    select account_id, measure, span_from as activity_date, 1 as delta
    from spans
    where span_from < span_until
    union all
    select account_id, measure, span_until, -1
    from spans
    where span_from < span_until and span_until < cast('9999-12-31' as date)

),

per_day as (

    select
        account_id,
        activity_date,
        sum(case when measure = 'device' then delta else 0 end) as linked_by_device_delta,
        sum(case when measure = 'card' then delta else 0 end) as linked_by_card_delta,
        sum(case when measure = 'address' then delta else 0 end) as linked_by_address_delta,
        sum(case when measure = 'ip' then delta else 0 end) as linked_by_ip_delta,
        sum(case when measure = 'strong' then delta else 0 end) as linked_accounts_delta,
        sum(case when measure = 'actioned' then delta else 0 end) as linked_actioned_delta,
        sum(case when measure = 'charged_back' then delta else 0 end) as linked_charged_back_delta
    from deltas
    group by account_id, activity_date

)

select * from per_day
