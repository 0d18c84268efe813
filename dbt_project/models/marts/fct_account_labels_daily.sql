{#-
    Labels for the feature snapshots, as defined by the raw source contract: an account is bad
    as of day D when, in the `label_horizon_days` after D, it receives a suspend or ban for
    abuse that is not reversed by an appeal reinstatement, or an order it placed gets a `fraud`
    chargeback, or an order it sold gets a `not_received` chargeback.

    Labels arrive late, so each snapshot says whether its label is final. A snapshot is never
    read as good before it matures: `is_bad` is null until then. Maturity is "wait until
    final": the horizon must have passed, plus the loader's maximum lateness, plus the appeal
    window (an action inside the horizon can still be reversed until then). A snapshot is
    final earlier when it is already known bad for good: a chargeback, or an action whose
    appeal window has closed. "Passed" is measured against the slowest label source.

    A suspend or ban taken by a model (`source = 'model'`) is a label only once a person upheld
    it; otherwise Vigil's own blocks would teach the next model. Rules are in the model's yml.
-#}

with

snapshots as (

    select account_id, as_of_date from {{ ref('fct_account_features_daily') }}

),

actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

chargebacks as (

    select * from {{ ref('stg_marketplace__chargebacks') }}

),

orders as (

    select * from {{ ref('stg_marketplace__orders') }}

),

source_loads as (

    select 'enforcement_actions' as source_table, max(loaded_at) as newest_loaded_at from actions
    union all
    select 'chargebacks', max(loaded_at) from chargebacks
    union all
    select 'orders', max(loaded_at) from orders

),

cutoff as (

    -- What the warehouse knows up to, unless fixed: the *slowest* label source's newest load.
    -- If one feed stops (say enforcement actions), the others must not move the cutoff on, or
    -- its silence would make snapshots final-good. A source never loaded: no cutoff at all.
    {% if var('label_cutoff_date', none) -%}
        select cast('{{ var("label_cutoff_date") }}' as date) as cutoff_date
    {%- else -%}
        select
            case
                when count(newest_loaded_at) = count(*) then cast(min(newest_loaded_at) as date)
            end as cutoff_date
        from source_loads
    {%- endif %}

),

appeal_reinstatements as (

    select account_id, occurred_at
    from actions
    where action = 'reinstate' and action_source = 'appeal'

),

reversed_actions as (

    -- Actions reversed by an appeal reinstatement within the appeal window.
    select distinct actions.action_id
    from actions
    inner join appeal_reinstatements
        on appeal_reinstatements.account_id = actions.account_id
        and appeal_reinstatements.occurred_at > actions.occurred_at
        and appeal_reinstatements.occurred_at
            <= {{ dbt.dateadd('day', var('appeal_window_days'), 'actions.occurred_at') }}

),

human_confirmations as (

    -- A model's suspend or ban upheld by a person: a later `manual_review` suspend or ban (abuse
    -- type not `none`) on the same account within the appeal window. Its confirmation is then
    -- known by the time the action settles (appeal window + lateness).
    select distinct model_actions.action_id
    from actions as model_actions
    inner join actions as reviews
        on reviews.account_id = model_actions.account_id
        and reviews.action_source = 'manual_review'
        and reviews.action in ('suspend', 'ban')
        and reviews.abuse_type <> 'none'
        and reviews.occurred_at >= model_actions.occurred_at
        and reviews.occurred_at
            <= {{ dbt.dateadd('day', var('appeal_window_days'), 'model_actions.occurred_at') }}
    where model_actions.action_source = 'model'

),

abuse_actions as (

    select
        actions.account_id,
        actions.occurred_at as event_at,
        actions.abuse_type,
        'enforcement' as label_source,
        reversed_actions.action_id is not null as is_reversed,
        -- Until its appeal window closes (and a late-loaded reinstatement could still land),
        -- the action may yet be reversed.
        {{ add_days('cast(actions.occurred_at as date)', var('appeal_window_days') + var('max_lateness_days')) }}
            as settled_on
    from actions
    left join reversed_actions
        on reversed_actions.action_id = actions.action_id
    left join human_confirmations
        on human_confirmations.action_id = actions.action_id
    where
        actions.action in ('suspend', 'ban')
        and actions.abuse_type <> 'none'
        and (actions.action_source <> 'model' or human_confirmations.action_id is not null)

),

chargeback_events as (

    select
        orders.buyer_id as account_id,
        chargebacks.reported_at as event_at,
        'payment_fraud' as abuse_type,
        'fraud_chargeback' as label_source,
        false as is_reversed,
        cast(chargebacks.reported_at as date) as settled_on
    from chargebacks
    inner join orders on orders.order_id = chargebacks.order_id
    where chargebacks.chargeback_reason = 'fraud'
    union all
    select
        orders.seller_id,
        chargebacks.reported_at,
        'seller_scam',
        'not_received_chargeback',
        false,
        cast(chargebacks.reported_at as date)
    from chargebacks
    inner join orders on orders.order_id = chargebacks.order_id
    where chargebacks.chargeback_reason = 'not_received'

),

bad_events as (

    select * from abuse_actions where not is_reversed
    union all
    select * from chargeback_events

),

events_in_horizon as (

    select
        snapshots.account_id,
        snapshots.as_of_date,
        bad_events.event_at,
        bad_events.abuse_type,
        bad_events.label_source,
        bad_events.settled_on
    from snapshots
    inner join bad_events
        on bad_events.account_id = snapshots.account_id
        and cast(bad_events.event_at as date) > snapshots.as_of_date
        and cast(bad_events.event_at as date)
            <= {{ add_days('snapshots.as_of_date', var('label_horizon_days')) }}

),

first_event as (

    select
        account_id,
        as_of_date,
        event_at as first_bad_event_at,
        abuse_type as bad_abuse_type,
        label_source
    from events_in_horizon
    qualify row_number() over (
        partition by account_id, as_of_date order by event_at, label_source
    ) = 1

),

settled as (

    select account_id, as_of_date, min(settled_on) as bad_settled_on
    from events_in_horizon
    group by account_id, as_of_date

),

labelled as (

    select
        snapshots.account_id,
        snapshots.as_of_date,
        {{ add_days(
            'snapshots.as_of_date',
            var('label_horizon_days') + var('max_lateness_days') + var('appeal_window_days')
        ) }} as matures_on,
        cutoff.cutoff_date,
        first_event.first_bad_event_at,
        first_event.bad_abuse_type,
        first_event.label_source,
        settled.bad_settled_on
    from snapshots
    cross join cutoff
    left join first_event
        on first_event.account_id = snapshots.account_id and first_event.as_of_date = snapshots.as_of_date
    left join settled
        on settled.account_id = snapshots.account_id and settled.as_of_date = snapshots.as_of_date

),

final as (

    select
        account_id,
        as_of_date,
        case
            when bad_settled_on <= cutoff_date then true
            when matures_on <= cutoff_date then true
            else false
        end as is_label_final,
        case
            when bad_settled_on <= cutoff_date then true
            when matures_on <= cutoff_date then first_bad_event_at is not null
        end as is_bad,
        first_bad_event_at is not null as has_bad_event_so_far,
        bad_abuse_type,
        label_source,
        first_bad_event_at,
        matures_on,
        cutoff_date as label_cutoff_date
    from labelled

)

select * from final
