-- Every feature of every as-of point: the families joined and named, one row per account per
-- as-of day. The one definition behind the daily mart (fct_account_features_daily) and the
-- near-real-time rows (fct_account_features_intraday): the as-of days and the accounts come
-- from vars (int_features_as_of_days, int_features_population). Each family is computed on its
-- own before the join (`materialized_cte`): one join over the families as they are computed
-- holds them all in memory at once.
with

population as {{ materialized_cte() }} (

    select * from {{ ref('int_features_population') }}

),

profile as {{ materialized_cte() }} (

    select * from {{ ref('int_features_profile') }}

),

payments as {{ materialized_cte() }} (

    select * from {{ ref('int_features_payments') }}

),

buying as {{ materialized_cte() }} (

    select * from {{ ref('int_features_buying') }}

),

logins as {{ materialized_cte() }} (

    select * from {{ ref('int_features_logins') }}

),

bidding as {{ materialized_cte() }} (

    select * from {{ ref('int_features_bidding') }}

),

top_seller_share as {{ materialized_cte() }} (

    select * from {{ ref('int_features_top_seller_share') }}

),

top_bidder_share as {{ materialized_cte() }} (

    select * from {{ ref('int_features_top_bidder_share') }}

),

selling as {{ materialized_cte() }} (

    select * from {{ ref('int_features_selling') }}

),

enforcement as {{ materialized_cte() }} (

    select * from {{ ref('int_features_enforcement') }}

),

links as {{ materialized_cte() }} (

    select * from {{ ref('int_features_links') }}

),

link_groups as {{ materialized_cte() }} (

    select * from {{ ref('int_features_link_groups') }}

),

features as (

    select
        population.account_id,
        population.as_of_date,

        -- identity and tenure
        profile.account_age_days,
        profile.country_code,
        profile.is_phone_verified,
        profile.has_disposable_email_domain,
        profile.is_seller,
        profile.seller_tenure_days,
        population.active_days_30d,
        population.active_days_90d,

        -- payments
        payments.cards_on_file,
        payments.cards_added_1d,
        payments.cards_added_7d,
        payments.cards_added_30d,
        payments.prepaid_card_share,
        payments.foreign_card_share,
        buying.orders_with_foreign_card_30d,
        buying.orders_with_prepaid_card_30d,
        links.linked_by_card,

        -- buying velocity
        buying.orders_placed_1d,
        buying.orders_placed_7d,
        buying.orders_placed_30d,
        buying.orders_placed_total,
        buying.spend_usd_1d,
        buying.spend_usd_7d,
        buying.spend_usd_30d,
        buying.spend_usd_90d,
        buying.spend_7d_vs_baseline,
        buying.distinct_sellers_7d,
        buying.distinct_sellers_30d,
        buying.high_value_orders_7d,
        buying.small_orders_30d,
        buying.orders_to_new_address_30d,
        links.linked_by_address,
        buying.refunds_as_buyer_30d,
        buying.chargebacks_as_buyer_total,
        buying.fraud_chargebacks_as_buyer_total,

        -- logins and takeover
        logins.successful_logins_30d,
        logins.failed_logins_1d,
        logins.failed_logins_7d,
        logins.failed_login_burst_days_7d,
        logins.new_devices_1d,
        logins.new_devices_7d,
        logins.new_countries_1d,
        logins.new_countries_7d,
        logins.new_device_and_country_logins_7d,
        logins.distinct_devices_7d,
        logins.distinct_ips_7d,
        logins.days_since_new_device,
        buying.orders_after_new_device_login_7d,

        -- bidding
        bidding.bids_placed_7d,
        bidding.bids_placed_30d,
        bidding.streams_bid_30d,
        bidding.bids_per_stream_30d,
        top_seller_share.top_seller_bid_share_30d,
        top_seller_share.top_seller_lot_share_30d,
        bidding.distinct_sellers_bid_30d,
        bidding.lots_bid_30d,
        bidding.lots_won_30d,
        bidding.lots_lost_share_30d,
        bidding.bids_on_linked_sellers_30d,
        bidding.bids_on_linked_sellers_90d,

        -- seller behaviour
        selling.orders_sold_7d,
        selling.orders_sold_30d,
        selling.orders_sold_total,
        selling.gmv_usd_30d,
        selling.orders_sold_7d_vs_baseline,
        selling.orders_due_for_shipping,
        selling.overdue_shipping_share,
        selling.avg_ship_delay_hours_30d,
        selling.orders_cancelled_30d,
        selling.refund_rate_as_seller_30d,
        selling.not_received_rate_30d,
        selling.chargebacks_as_seller_total,
        selling.reports_received_30d,
        selling.scam_reports_received_30d,
        selling.shill_reports_received_30d,
        selling.streams_hosted_30d,
        bidding.bids_received_30d,
        bidding.linked_bidder_share_30d,
        bidding.bids_received_90d,
        bidding.linked_bidder_share_90d,
        top_bidder_share.top_bidder_lot_share_30d,

        -- own enforcement history
        enforcement.warnings_received_total,
        enforcement.suspensions_received_total,
        enforcement.reinstatements_received_total,

        -- network
        links.linked_by_device,
        links.linked_by_ip,
        links.linked_accounts,
        link_groups.linked_group_size,
        link_groups.linked_group_id,
        links.linked_actioned_accounts,
        links.linked_actioned_share,
        links.linked_charged_back_accounts,
        links.linked_created_within_7d
    from population
    {%- for family in ['profile', 'payments', 'buying', 'logins', 'bidding', 'selling', 'enforcement', 'links', 'link_groups'] %}
    inner join {{ family }}
        on {{ family }}.account_id = population.account_id and {{ family }}.as_of_date = population.as_of_date
    {%- endfor %}
    left join top_seller_share
        on top_seller_share.account_id = population.account_id
        and top_seller_share.as_of_date = population.as_of_date
    left join top_bidder_share
        on top_bidder_share.account_id = population.account_id
        and top_bidder_share.as_of_date = population.as_of_date

)

select * from features
