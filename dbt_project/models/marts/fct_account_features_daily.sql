{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='fail'
    )
}}
{#-
    Point-in-time behavioural features: one row per account per as-of day, for every account
    active in the 90 days up to that day. Each value uses only what was knowable by the end of
    the day: an event counts from the day it was first loaded (never from its event time
    alone), so rebuilding a past day from the data as it stood then gives identical rows.

    Built for a window of days: vars `min_date`/`max_date` (Dagster daily partitions pass
    them); without them, the days after the last one built up to the last day with data.
    Re-running a day replaces that day's rows.
-#}

with

activity as (

    select * from {{ ref('int_account_activity_daily') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

profiles as (

    select * from {{ ref('int_account_profiles_versioned') }}

),

disposable_domains as (

    select * from {{ ref('disposable_email_domains') }}

),

logins as (

    select * from {{ ref('int_logins_daily') }}

),

cards as (

    select * from {{ ref('int_payment_methods_daily') }}

),

bought as (

    select * from {{ ref('int_orders_bought_daily') }}

),

sold as (

    select * from {{ ref('int_orders_sold_daily') }}

),

disputes as (

    select * from {{ ref('int_disputes_daily') }}

),

reports as (

    select * from {{ ref('int_user_reports_daily') }}

),

bids as (

    select * from {{ ref('int_bids_daily') }}

),

bid_pairs as (

    select * from {{ ref('int_bid_pairs_daily') }}

),

streams as (

    select * from {{ ref('int_livestreams_daily') }}

),

enforcement as (

    select * from {{ ref('int_enforcement_daily') }}

),

network as (

    select * from {{ ref('int_network_daily') }}

),

links as (

    select * from {{ ref('int_account_links') }}
    where link_type = 'strong'

),

bounds as (

    select
        {% if var('min_date', none) -%}
            cast('{{ var("min_date") }}' as date)
        {%- elif is_incremental() -%}
            (select {{ add_days('max(as_of_date)', 1) }} from {{ this }})
        {%- else -%}
            (select min(activity_date) from activity)
        {%- endif %} as start_date,
        {% if var('max_date', none) -%}
            cast('{{ var("max_date") }}' as date)
        {%- else -%}
            (select max(activity_date) from activity)
        {%- endif %} as end_date

),

grid_bounds as (

    -- Trailing windows reach back 89 days before the first as-of day.
    select
        {{ add_days('start_date', -89) }} as grid_start,
        end_date as grid_end,
        start_date,
        end_date
    from bounds

),

grid_accounts as (

    select distinct activity.account_id
    from activity
    inner join grid_bounds
        on activity.activity_date between grid_bounds.grid_start and grid_bounds.grid_end

),

grid as (

    select
        grid_accounts.account_id,
        calendar.calendar_date as as_of_date
    from grid_accounts
    cross join grid_bounds
    inner join calendar
        on calendar.calendar_date between grid_bounds.grid_start and grid_bounds.grid_end

),

{#- Running totals need everything before the grid: one opening row per account and family. -#}
{%- set opening_measures = {
    'cards': ['cards_added', 'prepaid_cards_added', 'foreign_cards_added'],
    'logins': ['distinct_devices_7d_delta', 'distinct_ips_7d_delta'],
    'bought': ['orders_placed', 'distinct_sellers_7d_delta', 'distinct_sellers_30d_delta'],
    'sold': ['orders_sold', 'orders_due_delta', 'orders_overdue_delta'],
    'disputes': ['chargebacks_as_buyer', 'fraud_chargebacks_as_buyer', 'chargebacks_as_seller'],
    'bids': ['distinct_sellers_bid_30d_delta'],
    'enforcement': ['warnings_received', 'suspensions_received', 'reinstatements_received'],
    'network': ['linked_by_device_delta', 'linked_by_card_delta', 'linked_by_address_delta',
                'linked_by_ip_delta', 'linked_accounts_delta', 'linked_actioned_delta',
                'linked_charged_back_delta'],
} %}

{% for family, measures in opening_measures.items() %}
opening_{{ family }} as (

    select
        {{ family }}.account_id,
        {%- for m in measures %}
        sum({{ family }}.{{ m }}) as opening_{{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ family }}
    inner join grid_accounts
        on grid_accounts.account_id = {{ family }}.account_id
    cross join grid_bounds
    where {{ family }}.activity_date < grid_bounds.grid_start
    group by {{ family }}.account_id

),

{% endfor %}

last_new_device_before_grid as (

    select logins.account_id, max(logins.activity_date) as opening_last_new_device_date
    from logins
    cross join grid_bounds
    where logins.new_devices > 0 and logins.activity_date < grid_bounds.grid_start
    group by logins.account_id

),

daily as (

    select
        grid.account_id,
        grid.as_of_date,
        coalesce(activity.is_active_day, 0) as is_active_day,
        coalesce(logins.successful_logins, 0) as successful_logins,
        coalesce(logins.failed_logins, 0) as failed_logins,
        coalesce(logins.failed_login_burst_days, 0) as failed_login_burst_days,
        coalesce(logins.new_devices, 0) as new_devices,
        coalesce(logins.new_countries, 0) as new_countries,
        coalesce(logins.new_device_and_country_logins, 0) as new_device_and_country_logins,
        coalesce(logins.distinct_devices_7d_delta, 0) as distinct_devices_7d_delta,
        coalesce(logins.distinct_ips_7d_delta, 0) as distinct_ips_7d_delta,
        case when logins.new_devices > 0 then grid.as_of_date end as new_device_date,
        coalesce(cards.cards_added, 0) as cards_added,
        coalesce(cards.prepaid_cards_added, 0) as prepaid_cards_added,
        coalesce(cards.foreign_cards_added, 0) as foreign_cards_added,
        coalesce(bought.orders_placed, 0) as orders_placed,
        coalesce(bought.spend_usd, 0) as spend_usd,
        coalesce(bought.high_value_orders, 0) as high_value_orders,
        coalesce(bought.small_orders, 0) as small_orders,
        coalesce(bought.lots_won, 0) as lots_won,
        coalesce(bought.orders_to_new_address, 0) as orders_to_new_address,
        coalesce(bought.orders_with_foreign_card, 0) as orders_with_foreign_card,
        coalesce(bought.orders_with_prepaid_card, 0) as orders_with_prepaid_card,
        coalesce(bought.orders_after_new_device_login, 0) as orders_after_new_device_login,
        coalesce(bought.distinct_sellers_7d_delta, 0) as distinct_sellers_7d_delta,
        coalesce(bought.distinct_sellers_30d_delta, 0) as distinct_sellers_30d_delta,
        coalesce(sold.orders_sold, 0) as orders_sold,
        coalesce(sold.gmv_usd, 0) as gmv_usd,
        coalesce(sold.orders_shipped, 0) as orders_shipped,
        coalesce(sold.ship_delay_hours_total, 0) as ship_delay_hours_total,
        coalesce(sold.orders_cancelled, 0) as orders_cancelled,
        coalesce(sold.orders_due_delta, 0) as orders_due_delta,
        coalesce(sold.orders_overdue_delta, 0) as orders_overdue_delta,
        coalesce(disputes.refunds_as_seller, 0) as refunds_as_seller,
        coalesce(disputes.not_received_refunds_as_seller, 0) as not_received_refunds_as_seller,
        coalesce(disputes.chargebacks_as_seller, 0) as chargebacks_as_seller,
        coalesce(disputes.not_received_chargebacks_as_seller, 0) as not_received_chargebacks_as_seller,
        coalesce(disputes.refunds_as_buyer, 0) as refunds_as_buyer,
        coalesce(disputes.chargebacks_as_buyer, 0) as chargebacks_as_buyer,
        coalesce(disputes.fraud_chargebacks_as_buyer, 0) as fraud_chargebacks_as_buyer,
        coalesce(reports.reports_received, 0) as reports_received,
        coalesce(reports.scam_reports_received, 0) as scam_reports_received,
        coalesce(reports.shill_reports_received, 0) as shill_reports_received,
        coalesce(bids.bids_placed, 0) as bids_placed,
        coalesce(bids.lots_bid, 0) as lots_bid,
        coalesce(bids.streams_bid, 0) as streams_bid,
        coalesce(bids.bids_on_linked_sellers, 0) as bids_on_linked_sellers,
        coalesce(bids.bids_received, 0) as bids_received,
        coalesce(bids.bids_received_from_linked, 0) as bids_received_from_linked,
        coalesce(bids.distinct_sellers_bid_30d_delta, 0) as distinct_sellers_bid_30d_delta,
        coalesce(streams.streams_hosted, 0) as streams_hosted,
        coalesce(enforcement.warnings_received, 0) as warnings_received,
        coalesce(enforcement.suspensions_received, 0) as suspensions_received,
        coalesce(enforcement.reinstatements_received, 0) as reinstatements_received,
        coalesce(network.linked_by_device_delta, 0) as linked_by_device_delta,
        coalesce(network.linked_by_card_delta, 0) as linked_by_card_delta,
        coalesce(network.linked_by_address_delta, 0) as linked_by_address_delta,
        coalesce(network.linked_by_ip_delta, 0) as linked_by_ip_delta,
        coalesce(network.linked_accounts_delta, 0) as linked_accounts_delta,
        coalesce(network.linked_actioned_delta, 0) as linked_actioned_delta,
        coalesce(network.linked_charged_back_delta, 0) as linked_charged_back_delta
    from grid
    left join activity
        on activity.account_id = grid.account_id and activity.activity_date = grid.as_of_date
    left join logins
        on logins.account_id = grid.account_id and logins.activity_date = grid.as_of_date
    left join cards
        on cards.account_id = grid.account_id and cards.activity_date = grid.as_of_date
    left join bought
        on bought.account_id = grid.account_id and bought.activity_date = grid.as_of_date
    left join sold
        on sold.account_id = grid.account_id and sold.activity_date = grid.as_of_date
    left join disputes
        on disputes.account_id = grid.account_id and disputes.activity_date = grid.as_of_date
    left join reports
        on reports.account_id = grid.account_id and reports.activity_date = grid.as_of_date
    left join bids
        on bids.account_id = grid.account_id and bids.activity_date = grid.as_of_date
    left join streams
        on streams.account_id = grid.account_id and streams.activity_date = grid.as_of_date
    left join enforcement
        on enforcement.account_id = grid.account_id and enforcement.activity_date = grid.as_of_date
    left join network
        on network.account_id = grid.account_id and network.activity_date = grid.as_of_date

),

with_openings as (

    select
        daily.*,
        {%- for family, measures in opening_measures.items() %}
        {%- for m in measures %}
        opening_{{ family }}.opening_{{ m }},
        {%- endfor %}
        {%- endfor %}
        last_new_device_before_grid.opening_last_new_device_date
    from daily
    {%- for family in opening_measures %}
    left join opening_{{ family }}
        on opening_{{ family }}.account_id = daily.account_id
    {%- endfor %}
    left join last_new_device_before_grid
        on last_new_device_before_grid.account_id = daily.account_id

),

windowed as (

    select
        account_id,
        as_of_date,
        -- activity
        {{ trailing_sum('is_active_day', 30) }} as active_days_30d,
        {{ trailing_sum('is_active_day', 90) }} as active_days_90d,
        -- logins and takeover
        {{ trailing_sum('successful_logins', 30) }} as successful_logins_30d,
        failed_logins as failed_logins_1d,
        {{ trailing_sum('failed_logins', 7) }} as failed_logins_7d,
        {{ trailing_sum('failed_login_burst_days', 7) }} as failed_login_burst_days_7d,
        new_devices as new_devices_1d,
        {{ trailing_sum('new_devices', 7) }} as new_devices_7d,
        new_countries as new_countries_1d,
        {{ trailing_sum('new_countries', 7) }} as new_countries_7d,
        {{ trailing_sum('new_device_and_country_logins', 7) }} as new_device_and_country_logins_7d,
        {{ running_total('distinct_devices_7d_delta') }} as distinct_devices_7d,
        {{ running_total('distinct_ips_7d_delta') }} as distinct_ips_7d,
        coalesce(
            max(new_device_date) over (
                partition by account_id order by as_of_date rows between unbounded preceding and current row
            ),
            opening_last_new_device_date
        ) as last_new_device_date,
        {{ trailing_sum('orders_after_new_device_login', 7) }} as orders_after_new_device_login_7d,
        -- payments
        {{ running_total('cards_added') }} as cards_on_file,
        {{ running_total('prepaid_cards_added') }} as prepaid_cards_on_file,
        {{ running_total('foreign_cards_added') }} as foreign_cards_on_file,
        cards_added as cards_added_1d,
        {{ trailing_sum('cards_added', 7) }} as cards_added_7d,
        {{ trailing_sum('cards_added', 30) }} as cards_added_30d,
        {{ trailing_sum('orders_with_foreign_card', 30) }} as orders_with_foreign_card_30d,
        {{ trailing_sum('orders_with_prepaid_card', 30) }} as orders_with_prepaid_card_30d,
        -- buying
        orders_placed as orders_placed_1d,
        {{ trailing_sum('orders_placed', 7) }} as orders_placed_7d,
        {{ trailing_sum('orders_placed', 30) }} as orders_placed_30d,
        {{ running_total('orders_placed') }} as orders_placed_total,
        spend_usd as spend_usd_1d,
        {{ trailing_sum('spend_usd', 7) }} as spend_usd_7d,
        {{ trailing_sum('spend_usd', 30) }} as spend_usd_30d,
        {{ trailing_sum('spend_usd', 90) }} as spend_usd_90d,
        {{ running_total('distinct_sellers_7d_delta') }} as distinct_sellers_7d,
        {{ running_total('distinct_sellers_30d_delta') }} as distinct_sellers_30d,
        {{ trailing_sum('high_value_orders', 7) }} as high_value_orders_7d,
        {{ trailing_sum('small_orders', 30) }} as small_orders_30d,
        {{ trailing_sum('orders_to_new_address', 30) }} as orders_to_new_address_30d,
        {{ trailing_sum('refunds_as_buyer', 30) }} as refunds_as_buyer_30d,
        {{ running_total('chargebacks_as_buyer') }} as chargebacks_as_buyer_total,
        {{ running_total('fraud_chargebacks_as_buyer') }} as fraud_chargebacks_as_buyer_total,
        -- bidding
        {{ trailing_sum('bids_placed', 7) }} as bids_placed_7d,
        {{ trailing_sum('bids_placed', 30) }} as bids_placed_30d,
        {{ trailing_sum('streams_bid', 30) }} as streams_bid_30d,
        {{ trailing_sum('lots_bid', 30) }} as lots_bid_30d,
        {{ trailing_sum('lots_won', 30) }} as lots_won_30d,
        {{ trailing_sum('bids_on_linked_sellers', 30) }} as bids_on_linked_sellers_30d,
        {{ running_total('distinct_sellers_bid_30d_delta') }} as distinct_sellers_bid_30d,
        -- selling
        {{ trailing_sum('orders_sold', 7) }} as orders_sold_7d,
        {{ trailing_sum('orders_sold', 30) }} as orders_sold_30d,
        {{ running_total('orders_sold') }} as orders_sold_total,
        {{ trailing_sum('gmv_usd', 30) }} as gmv_usd_30d,
        {{ trailing_sum('orders_shipped', 30) }} as orders_shipped_30d,
        {{ trailing_sum('ship_delay_hours_total', 30) }} as ship_delay_hours_total_30d,
        {{ trailing_sum('orders_cancelled', 30) }} as orders_cancelled_30d,
        {{ running_total('orders_due_delta') }} as orders_due,
        {{ running_total('orders_overdue_delta') }} as orders_overdue,
        {{ trailing_sum('refunds_as_seller', 30) }} as refunds_as_seller_30d,
        {{ trailing_sum('not_received_refunds_as_seller', 30) }}
            + {{ trailing_sum('not_received_chargebacks_as_seller', 30) }} as not_received_claims_30d,
        {{ running_total('chargebacks_as_seller') }} as chargebacks_as_seller_total,
        {{ trailing_sum('reports_received', 30) }} as reports_received_30d,
        {{ trailing_sum('scam_reports_received', 30) }} as scam_reports_received_30d,
        {{ trailing_sum('shill_reports_received', 30) }} as shill_reports_received_30d,
        {{ trailing_sum('bids_received', 30) }} as bids_received_30d,
        {{ trailing_sum('bids_received_from_linked', 30) }} as bids_received_from_linked_30d,
        {{ trailing_sum('streams_hosted', 30) }} as streams_hosted_30d,
        -- own enforcement history
        {{ running_total('warnings_received') }} as warnings_received_total,
        {{ running_total('suspensions_received') }} as suspensions_received_total,
        {{ running_total('reinstatements_received') }} as reinstatements_received_total,
        -- network
        {{ running_total('linked_by_device_delta') }} as linked_by_device,
        {{ running_total('linked_by_card_delta') }} as linked_by_card,
        {{ running_total('linked_by_address_delta') }} as linked_by_address,
        {{ running_total('linked_by_ip_delta') }} as linked_by_ip,
        {{ running_total('linked_accounts_delta') }} as linked_accounts,
        {{ running_total('linked_actioned_delta') }} as linked_actioned_accounts,
        {{ running_total('linked_charged_back_delta') }} as linked_charged_back_accounts
    from with_openings

),

in_window as (

    select windowed.*
    from windowed
    inner join grid_bounds
        on windowed.as_of_date between grid_bounds.start_date and grid_bounds.end_date
    where windowed.active_days_90d > 0

),

{#- The CTEs below start from the grid, not from `in_window`, so the engine computes the window
    functions once (a CTE referenced several times may be inlined, and recomputed, each time). -#}
batch_grid as (

    select grid.account_id, grid.as_of_date
    from grid
    inner join grid_bounds
        on grid.as_of_date between grid_bounds.start_date and grid_bounds.end_date

),

top_seller_share as (

    -- The share of a bidder's 30-day bids that went to their most-bid-on seller (both counts
    -- dated when the bid's show was known too, so the share stays within [0, 1]).
    select
        account_id,
        as_of_date,
        max(pair_bids) as top_seller_bids_30d,
        sum(pair_bids) as attributed_bids_30d
    from (
        select
            batch_grid.account_id,
            batch_grid.as_of_date,
            bid_pairs.seller_id,
            sum(bid_pairs.bids_placed) as pair_bids
        from batch_grid
        inner join bid_pairs
            on bid_pairs.account_id = batch_grid.account_id
            and bid_pairs.activity_date between {{ add_days('batch_grid.as_of_date', -29) }} and batch_grid.as_of_date
        group by batch_grid.account_id, batch_grid.as_of_date, bid_pairs.seller_id
    ) as pair_totals
    group by account_id, as_of_date

),

group_edges as (

    -- Strong links holding on each as-of day: the graph whose connected groups we size.
    select
        days.as_of_date,
        links.account_id,
        links.linked_account_id
    from (
        select calendar.calendar_date as as_of_date
        from calendar
        inner join grid_bounds
            on calendar.calendar_date between grid_bounds.start_date and grid_bounds.end_date
    ) as days
    inner join links
        on links.linked_from <= days.as_of_date
        and links.linked_until > days.as_of_date

),

{#- Connected groups by min-label propagation, unrolled (portable: no recursive UNION). Groups
    wider than this many hops are split; rings and families are far smaller. -#}
{%- set hops = 6 %}
group_labels_0 as (

    select as_of_date, account_id, least(min(linked_account_id), account_id) as group_label
    from group_edges
    group by as_of_date, account_id

),

{% for i in range(1, hops + 1) %}
group_labels_{{ i }} as (

    select
        group_edges.as_of_date,
        group_edges.account_id,
        least(min(own.group_label), min(neighbour.group_label), group_edges.account_id) as group_label
    from group_edges
    inner join group_labels_{{ i - 1 }} as own
        on own.as_of_date = group_edges.as_of_date and own.account_id = group_edges.account_id
    inner join group_labels_{{ i - 1 }} as neighbour
        on neighbour.as_of_date = group_edges.as_of_date
        and neighbour.account_id = group_edges.linked_account_id
    group by group_edges.as_of_date, group_edges.account_id

),

{% endfor %}

group_sizes as (

    select
        labelled.as_of_date,
        labelled.account_id,
        sizes.group_size
    from group_labels_{{ hops }} as labelled
    inner join (
        select as_of_date, group_label, count(*) as group_size
        from group_labels_{{ hops }}
        group by as_of_date, group_label
    ) as sizes
        on sizes.as_of_date = labelled.as_of_date and sizes.group_label = labelled.group_label

),

profile_as_of as (

    select
        batch_grid.account_id,
        batch_grid.as_of_date,
        profiles.created_at,
        profiles.country_code,
        profiles.email_domain,
        profiles.is_phone_verified,
        profiles.is_seller,
        profiles.seller_approved_at
    from batch_grid
    left join profiles
        on profiles.account_id = batch_grid.account_id
        and batch_grid.as_of_date between profiles.valid_from_date and profiles.valid_to_date

),

features as (

    select
        in_window.account_id,
        in_window.as_of_date,

        -- identity and tenure
        {{ days_between('cast(profile_as_of.created_at as date)', 'in_window.as_of_date') }} as account_age_days,
        profile_as_of.country_code,
        coalesce(profile_as_of.is_phone_verified, false) as is_phone_verified,
        disposable_domains.email_domain is not null as has_disposable_email_domain,
        coalesce(profile_as_of.is_seller, false) as is_seller,
        case
            when profile_as_of.seller_approved_at is not null
                then {{ days_between('cast(profile_as_of.seller_approved_at as date)', 'in_window.as_of_date') }}
        end as seller_tenure_days,
        in_window.active_days_30d,
        in_window.active_days_90d,

        -- payments
        in_window.cards_on_file,
        in_window.cards_added_1d,
        in_window.cards_added_7d,
        in_window.cards_added_30d,
        {{ safe_ratio('in_window.prepaid_cards_on_file', 'in_window.cards_on_file') }} as prepaid_card_share,
        {{ safe_ratio('in_window.foreign_cards_on_file', 'in_window.cards_on_file') }} as foreign_card_share,
        in_window.orders_with_foreign_card_30d,
        in_window.orders_with_prepaid_card_30d,
        in_window.linked_by_card,

        -- buying velocity
        in_window.orders_placed_1d,
        in_window.orders_placed_7d,
        in_window.orders_placed_30d,
        in_window.orders_placed_total,
        in_window.spend_usd_1d,
        in_window.spend_usd_7d,
        in_window.spend_usd_30d,
        in_window.spend_usd_90d,
        -- Last 7 days against the 83 days before them, scaled to 7 days; null without a baseline.
        {{ safe_ratio('in_window.spend_usd_7d', '(in_window.spend_usd_90d - in_window.spend_usd_7d) * 7.0 / 83') }}
            as spend_7d_vs_baseline,
        in_window.distinct_sellers_7d,
        in_window.distinct_sellers_30d,
        in_window.high_value_orders_7d,
        in_window.small_orders_30d,
        in_window.orders_to_new_address_30d,
        in_window.linked_by_address,
        in_window.refunds_as_buyer_30d,
        in_window.chargebacks_as_buyer_total,
        in_window.fraud_chargebacks_as_buyer_total,

        -- logins and takeover
        in_window.successful_logins_30d,
        in_window.failed_logins_1d,
        in_window.failed_logins_7d,
        in_window.failed_login_burst_days_7d,
        in_window.new_devices_1d,
        in_window.new_devices_7d,
        in_window.new_countries_1d,
        in_window.new_countries_7d,
        in_window.new_device_and_country_logins_7d,
        in_window.distinct_devices_7d,
        in_window.distinct_ips_7d,
        {{ days_between('in_window.last_new_device_date', 'in_window.as_of_date') }} as days_since_new_device,
        in_window.orders_after_new_device_login_7d,

        -- bidding
        in_window.bids_placed_7d,
        in_window.bids_placed_30d,
        in_window.streams_bid_30d,
        {{ safe_ratio('in_window.bids_placed_30d', 'in_window.streams_bid_30d') }} as bids_per_stream_30d,
        {{ safe_ratio('top_seller_share.top_seller_bids_30d', 'top_seller_share.attributed_bids_30d') }}
            as top_seller_bid_share_30d,
        in_window.distinct_sellers_bid_30d,
        in_window.lots_bid_30d,
        in_window.lots_won_30d,
        -- Lots won can include lots bid on before the window: clip at zero lost.
        {{ safe_ratio('greatest(in_window.lots_bid_30d - in_window.lots_won_30d, 0)', 'in_window.lots_bid_30d') }}
            as lots_lost_share_30d,
        in_window.bids_on_linked_sellers_30d,

        -- seller behaviour
        in_window.orders_sold_7d,
        in_window.orders_sold_30d,
        in_window.orders_sold_total,
        in_window.gmv_usd_30d,
        -- Last 7 days against the 23 days before them, scaled to 7 days.
        {{ safe_ratio('in_window.orders_sold_7d', '(in_window.orders_sold_30d - in_window.orders_sold_7d) * 7.0 / 23') }}
            as orders_sold_7d_vs_baseline,
        in_window.orders_due as orders_due_for_shipping,
        {{ safe_ratio('in_window.orders_overdue', 'in_window.orders_due') }} as overdue_shipping_share,
        {{ safe_ratio('in_window.ship_delay_hours_total_30d', 'in_window.orders_shipped_30d') }}
            as avg_ship_delay_hours_30d,
        in_window.orders_cancelled_30d,
        {{ safe_ratio('in_window.refunds_as_seller_30d', 'in_window.orders_sold_30d') }} as refund_rate_as_seller_30d,
        {{ safe_ratio('in_window.not_received_claims_30d', 'in_window.orders_sold_30d') }} as not_received_rate_30d,
        in_window.chargebacks_as_seller_total,
        in_window.reports_received_30d,
        in_window.scam_reports_received_30d,
        in_window.shill_reports_received_30d,
        in_window.streams_hosted_30d,
        in_window.bids_received_30d,
        {{ safe_ratio('in_window.bids_received_from_linked_30d', 'in_window.bids_received_30d') }}
            as linked_bidder_share_30d,

        -- own enforcement history
        in_window.warnings_received_total,
        in_window.suspensions_received_total,
        in_window.reinstatements_received_total,

        -- network
        in_window.linked_by_device,
        in_window.linked_by_ip,
        in_window.linked_accounts,
        coalesce(group_sizes.group_size, 1) as linked_group_size,
        in_window.linked_actioned_accounts,
        {{ safe_ratio('in_window.linked_actioned_accounts', 'in_window.linked_accounts') }} as linked_actioned_share,
        in_window.linked_charged_back_accounts
    from in_window
    left join profile_as_of
        on profile_as_of.account_id = in_window.account_id and profile_as_of.as_of_date = in_window.as_of_date
    left join disposable_domains
        on disposable_domains.email_domain = lower(profile_as_of.email_domain)
    left join top_seller_share
        on top_seller_share.account_id = in_window.account_id
        and top_seller_share.as_of_date = in_window.as_of_date
    left join group_sizes
        on group_sizes.account_id = in_window.account_id and group_sizes.as_of_date = in_window.as_of_date

)

select * from features
