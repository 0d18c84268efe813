{{ config(materialized='ephemeral') }}
-- Linked accounts per as-of point: how many accounts share a device, card, address or IP with
-- the account on the day (links holding then), and how many strongly linked ones were under a
-- suspension or ban, already had a fraud or non-delivery chargeback, or first appeared within
-- 7 days of the account (signed up together: the multi-accounting ring's mark). Counted from
-- the link spans that overlap the as-of days: each span adds one from the day it starts to hold
-- (or the first as-of day) until the day it stops.
{%- set measures = ['device', 'card', 'address', 'ip', 'strong', 'actioned', 'charged_back', 'created_together'] %}
{%- set delta_columns = [] %}
{%- for measure in measures %}{% do delta_columns.append(measure ~ '_delta') %}{% endfor %}
with

points as (

    select * from {{ ref('int_features_population') }}

),

bounds as (

    select min(as_of_date) as start_date, max(as_of_date) as end_date from points

),

point_accounts as (

    select distinct account_id from points

),

links as (

    select links.*
    from {{ ref('int_account_links') }} as links
    inner join point_accounts on point_accounts.account_id = links.account_id

),

actioned as (

    select * from {{ ref('int_enforcement_status') }}

),

first_seen as (

    select * from {{ ref('int_account_first_seen') }}

),

first_fraud_chargeback as (

    select account_id, min(activity_date) as flagged_from
    from {{ ref('int_disputes_daily') }}
    where fraud_chargebacks_as_buyer > 0 or not_received_chargebacks_as_seller > 0
    group by account_id

),

spans as (

    select account_id, link_type as measure, linked_from as span_from, linked_until as span_until
    from links
    union all
    -- Linked (strongly) while the linked account was under a suspension or ban.
    select
        links.account_id,
        'actioned',
        greatest(links.linked_from, actioned.actioned_from),
        least(links.linked_until, actioned.actioned_until)
    from links
    inner join actioned
        on actioned.account_id = links.linked_account_id
    where links.link_type = 'strong'
    union all
    -- Linked (strongly) to an account that already had a fraud or non-delivery chargeback.
    select
        links.account_id,
        'charged_back',
        greatest(links.linked_from, first_fraud_chargeback.flagged_from),
        links.linked_until
    from links
    inner join first_fraud_chargeback
        on first_fraud_chargeback.account_id = links.linked_account_id
    where links.link_type = 'strong'
    union all
    -- Linked (strongly) to an account that first appeared within 7 days of this one.
    select
        links.account_id,
        'created_together',
        links.linked_from,
        links.linked_until
    from links
    inner join first_seen as own
        on own.account_id = links.account_id
    inner join first_seen as linked
        on linked.account_id = links.linked_account_id
    where links.link_type = 'strong'
        and abs({{ days_between('own.first_seen_date', 'linked.first_seen_date') }}) <= 7

),

overlapping as (

    select spans.*
    from spans
    cross join bounds
    where spans.span_from < spans.span_until
        and spans.span_from <= bounds.end_date
        and spans.span_until > bounds.start_date

),

deltas as (

    -- Each span counts from the day it starts to hold (or the first as-of day) to the day it stops.
    select
        overlapping.account_id,
        greatest(overlapping.span_from, bounds.start_date) as activity_date,
        {%- for measure in measures %}
        case when overlapping.measure = '{{ measure }}' then 1 else 0 end as {{ measure }}_delta{{ ',' if not loop.last }}
        {%- endfor %}
    from overlapping
    cross join bounds
    union all
    select
        overlapping.account_id,
        overlapping.span_until,
        {%- for measure in measures %}
        case when overlapping.measure = '{{ measure }}' then -1 else 0 end{{ ',' if not loop.last }}
        {%- endfor %}
    from overlapping
    cross join bounds
    where overlapping.span_until <= bounds.end_date

),

{{ timeline('links', 'points', 'bounds', [
    {'relation': 'deltas', 'running': delta_columns},
]) }},

windowed as (

    select
        account_id,
        as_of_date,
        is_point,
        {{ to_date('device_delta') }} as linked_by_device,
        {{ to_date('card_delta') }} as linked_by_card,
        {{ to_date('address_delta') }} as linked_by_address,
        {{ to_date('ip_delta') }} as linked_by_ip,
        {{ to_date('strong_delta') }} as linked_accounts,
        {{ to_date('actioned_delta') }} as linked_actioned_accounts,
        {{ to_date('charged_back_delta') }} as linked_charged_back_accounts,
        {{ to_date('created_together_delta') }} as linked_created_within_7d
    from links_timeline
    {{ per_point() }}

),

features as (

    select
        account_id,
        as_of_date,
        linked_by_device,
        linked_by_card,
        linked_by_address,
        linked_by_ip,
        linked_accounts,
        linked_actioned_accounts,
        {{ safe_ratio('linked_actioned_accounts', 'linked_accounts') }} as linked_actioned_share,
        linked_charged_back_accounts,
        linked_created_within_7d
    from windowed
    where is_point = 1

)

select * from features
