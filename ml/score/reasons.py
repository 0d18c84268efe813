"""Reason codes: the top features pushing an account's risk score up, as codes and short texts.

Every model feature has a `Reason`: a stable upper-snake `code` an enforcement tool can key on
(related features share one) and a `str.format` template over the account's feature row that
an investigator reads, and the values it is evidence of risk at (`risky_when`: a positive
contribution at a neutral value, such as no card shared, is never quoted). `reason_codes_for`
picks, per account, the k largest positive TreeSHAP contributions of quotable features with
distinct codes and renders their texts. `ml/score/REASON_CODES.md` documents
the vocabulary, and `--check` keeps it in step:

    uv run python -m ml.score.reasons           # rewrite ml/score/REASON_CODES.md
    uv run python -m ml.score.reasons --check   # exit 1 if it is out of date

Templates see every feature of the row plus the `DERIVED` keys. Besides the standard format
specs (`{x:.0%}` for shares), two are ours: `{x:card|cards}` renders a count with the singular
or plural noun ("1 card", "3 cards") and `{x:usd}` renders dollars ("$1,250"). An unknown
(NaN) value renders as "unknown" (or "an unknown number of cards", "an unknown amount"), never
"nan"; a reason whose own feature is unknown uses its `if_missing` text when it has one.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.features.catalog import DEFAULT_MODELS_YML, MODELS_YML_IN_PROJECT, load_feature_columns
from ml.generated_doc import display, table_cell, write_or_check
from ml.score.rules import DAILY_RULES, INTRADAY_RULES
from ml.train.dataset import model_feature_columns

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "REASON_CODES.md"
UNKNOWN = "unknown"
MAX_TEXT_CHARS = 120
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


@dataclass(frozen=True)
class RiskyWhen:
    """The values of a feature that are evidence of risk: a reason quotes only those.

    A TreeSHAP contribution can be positive at a neutral value (an account that shares no card,
    an old account, shipping within two days), and quoting such a value as a risk reason misleads
    the reviewer and the account holder. `above` and `below` bound the risky values (strictly;
    both: the values between); `unknown` also counts an unknown (NaN) value. No bound and not
    `unknown`: the feature is context the model uses, never quoted as a reason.
    """

    above: float | None = None
    below: float | None = None
    unknown: bool = False

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Element-wise: is each value (NaN unknown) evidence of risk?"""
        if self.above is None and self.below is None:
            risky = np.zeros(values.shape, dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                risky = np.ones(values.shape, dtype=bool)
                if self.above is not None:
                    risky &= values > self.above
                if self.below is not None:
                    risky &= values < self.below
        return risky | np.isnan(values) if self.unknown else risky

    def describe(self) -> str:
        """For REASON_CODES.md: "value > 0", "value < 90", "value > 3, or unknown", "never (context only)"."""
        bounds = [f"{op} {bound:g}" for op, bound in ((">", self.above), ("<", self.below)) if bound is not None]
        if not bounds:
            return "value unknown" if self.unknown else "never (context only)"
        return "value " + " and ".join(bounds) + (", or unknown" if self.unknown else "")


# An account none of whose values is evidence on its own (its score comes from their
# combination) still gets a first reason, this one: scoring writes it (`ml.score.scoring`), and
# the sync never blocks on it (a person reviews the account instead, `ml.score.sync`).
COMBINED_SIGNALS = (
    "COMBINED_SIGNALS",
    "No single value is evidence of risk on its own: the score comes from the account's values together",
)

ABOVE_ZERO = RiskyWhen(above=0)  # counts and shares of risky events: none is neutral
CONTEXT_ONLY = RiskyWhen()  # volume and status features: the model weighs them, a reason never quotes them


@dataclass(frozen=True)
class Reason:
    """How one feature is reported when it pushes an account's score up.

    It is quoted only when the feature's value is risky (`risky_when`) and every other quantity
    its text quotes is known and not zero: "3 cards added in the last day" may be a reason,
    "0 cards shared" never is.
    """

    code: str
    template: str
    # Booleans: the text when the value is false (0); `template` is then the text for true.
    if_false: str | None = None
    # The text when the feature's own value is unknown (NaN), e.g. a share without denominator.
    if_missing: str | None = None
    risky_when: RiskyWhen = ABOVE_ZERO

    def template_for(self, value: float) -> str:
        if math.isnan(value) and self.if_missing is not None:
            return self.if_missing
        if self.if_false is not None and value == 0:
            return self.if_false
        return self.template


# Keyed by feature, in the mart's order. "In the last day" is the as-of day D (UTC); every window
# counts events from the day they became known to the warehouse (see REASON_CODES.md). The $250,
# $15 and 7-day thresholds are dbt vars (dbt_project.yml): a test keeps the texts in step.
# Where a rate or a ratio has a neutral level above zero (honest sellers refund some orders,
# spending doubles in a normal week), `risky_when` starts above what 90 to 95% of good account-days
# show on the project's simulator (2026-06-01..07-25); revisit them on production data.
VOCABULARY: dict[str, Reason] = {
    # Identity and tenure
    "account_age_days": Reason(
        "NEW_ACCOUNT",
        "Account is {account_age_days:day|days} old",
        if_missing="Account age unknown: no profile on record yet",
        risky_when=RiskyWhen(below=90),
    ),
    "is_phone_verified": Reason(
        "PHONE_NOT_VERIFIED",
        "Phone number verified",
        if_false="Phone number not verified",
        if_missing="Phone verification status unknown",
        risky_when=RiskyWhen(below=1),
    ),
    "has_disposable_email_domain": Reason(
        "DISPOSABLE_EMAIL",
        "Email on a disposable domain",
        if_false="Email not on a disposable domain",
        if_missing="Email domain unknown",
    ),
    "is_seller": Reason(
        "SELLER_ACCOUNT",
        "Account is approved to sell",
        if_false="Account is not approved to sell",
        if_missing="Seller status unknown",
        risky_when=CONTEXT_ONLY,
    ),
    "seller_tenure_days": Reason(
        "NEW_SELLER",
        "Approved to sell {seller_tenure_days:day|days} ago",
        if_missing="No seller approval on record",
        risky_when=RiskyWhen(below=90),
    ),
    # Activity
    "active_days_30d": Reason(
        "ACTIVITY_LEVEL", "Active on {active_days_30d:day|days} of the last 30", risky_when=CONTEXT_ONLY
    ),
    "active_days_90d": Reason(
        "ACTIVITY_LEVEL", "Active on {active_days_90d:day|days} of the last 90", risky_when=CONTEXT_ONLY
    ),
    # Payments
    "cards_on_file": Reason(
        "CARDS_ON_FILE", "{cards_on_file:card|cards} added over the account's lifetime", risky_when=RiskyWhen(above=1)
    ),
    "cards_added_1d": Reason("CARD_VELOCITY", "{cards_added_1d:card|cards} added in the last day"),
    "cards_added_7d": Reason("CARD_VELOCITY", "{cards_added_7d:card|cards} added in the last 7 days"),
    "cards_added_30d": Reason("CARD_VELOCITY", "{cards_added_30d:card|cards} added in the last 30 days"),
    "prepaid_card_share": Reason(
        "PREPAID_CARDS",
        "{prepaid_card_share:.0%} of the {cards_on_file:card|cards} ever added are prepaid",
        if_missing="No card added to the account",
    ),
    "foreign_card_share": Reason(
        "FOREIGN_CARDS",
        "{foreign_card_share:.0%} of the {cards_on_file:card|cards} ever added were issued outside "
        "the account's country",
        if_missing="No card added to the account",
    ),
    "orders_with_foreign_card_30d": Reason(
        "FOREIGN_CARDS",
        "{orders_with_foreign_card_30d:order|orders} in the last 30 days paid with a card issued outside "
        "the buyer's country",
    ),
    "orders_with_prepaid_card_30d": Reason(
        "PREPAID_CARDS", "{orders_with_prepaid_card_30d:order|orders} in the last 30 days paid with a prepaid card"
    ),
    # Buying velocity
    "orders_placed_1d": Reason("ORDER_VELOCITY", "{orders_placed_1d:order|orders} placed in the last day"),
    "orders_placed_7d": Reason("ORDER_VELOCITY", "{orders_placed_7d:order|orders} placed in the last 7 days"),
    "orders_placed_30d": Reason("ORDER_VELOCITY", "{orders_placed_30d:order|orders} placed in the last 30 days"),
    "orders_placed_total": Reason(
        "BUYING_HISTORY",
        "{orders_placed_total:order|orders} placed over the account's lifetime",
        risky_when=CONTEXT_ONLY,
    ),
    "spend_usd_1d": Reason("SPEND_VELOCITY", "{spend_usd_1d:usd} in orders placed in the last day"),
    "spend_usd_7d": Reason("SPEND_VELOCITY", "{spend_usd_7d:usd} in orders placed in the last 7 days"),
    "spend_usd_30d": Reason("SPEND_VELOCITY", "{spend_usd_30d:usd} in orders placed in the last 30 days"),
    "spend_usd_90d": Reason("SPEND_VELOCITY", "{spend_usd_90d:usd} in orders placed in the last 90 days"),
    "spend_7d_vs_baseline": Reason(
        "SPEND_SPIKE",
        "{spend_usd_7d:usd} in orders in the last 7 days, {spend_7d_vs_baseline:.1f} times the usual weekly amount",
        if_missing="{spend_usd_7d:usd} in orders in the last 7 days, none in the 83 days before",
        risky_when=RiskyWhen(above=3, unknown=True),
    ),
    "distinct_sellers_7d": Reason(
        "SELLERS_BOUGHT_FROM", "Bought from {distinct_sellers_7d:seller|sellers} in the last 7 days"
    ),
    "distinct_sellers_30d": Reason(
        "SELLERS_BOUGHT_FROM", "Bought from {distinct_sellers_30d:seller|sellers} in the last 30 days"
    ),
    "high_value_orders_7d": Reason(
        "HIGH_VALUE_ORDERS", "{high_value_orders_7d:order|orders} of $250 or more in the last 7 days"
    ),
    "small_orders_30d": Reason("SMALL_ORDERS", "{small_orders_30d:order|orders} under $15 in the last 30 days"),
    "orders_to_new_address_30d": Reason(
        "SHIPPING_ADDRESS_CHANGE",
        "{orders_to_new_address_30d:order|orders} in the last 30 days shipped to a new address on its first day of use",
    ),
    "refunds_as_buyer_30d": Reason(
        "BUYER_REFUNDS", "{refunds_as_buyer_30d:refund|refunds} on the account's purchases in the last 30 days"
    ),
    "chargebacks_as_buyer_total": Reason(
        "BUYER_CHARGEBACKS",
        "{chargebacks_as_buyer_total:chargeback|chargebacks} on the account's purchases over its lifetime",
    ),
    "fraud_chargebacks_as_buyer_total": Reason(
        "BUYER_FRAUD_CHARGEBACKS",
        "{fraud_chargebacks_as_buyer_total:fraud chargeback|fraud chargebacks} on the account's purchases "
        "over its lifetime",
    ),
    # Logins and account takeover
    "successful_logins_30d": Reason(
        "LOGIN_ACTIVITY",
        "{successful_logins_30d:successful login|successful logins} in the last 30 days",
        risky_when=CONTEXT_ONLY,
    ),
    "failed_logins_1d": Reason("FAILED_LOGINS", "{failed_logins_1d:failed login|failed logins} in the last day"),
    "failed_logins_7d": Reason("FAILED_LOGINS", "{failed_logins_7d:failed login|failed logins} in the last 7 days"),
    "failed_login_burst_days_7d": Reason(
        "FAILED_LOGIN_BURST", "{failed_login_burst_days_7d:day|days} of the last 7 with 5 or more failed logins"
    ),
    "new_devices_1d": Reason("NEW_DEVICE", "Logged in from {new_devices_1d:new device|new devices} in the last day"),
    "new_devices_7d": Reason("NEW_DEVICE", "Logged in from {new_devices_7d:new device|new devices} in the last 7 days"),
    "new_countries_1d": Reason(
        "NEW_LOGIN_COUNTRY", "Logged in from {new_countries_1d:new country|new countries} in the last day"
    ),
    "new_countries_7d": Reason(
        "NEW_LOGIN_COUNTRY", "Logged in from {new_countries_7d:new country|new countries} in the last 7 days"
    ),
    "new_device_and_country_logins_7d": Reason(
        "NEW_DEVICE_AND_COUNTRY",
        "{new_device_and_country_logins_7d:login|logins} in the last 7 days from a device and a country "
        "both new to the account",
    ),
    "distinct_devices_7d": Reason(
        "LOGIN_DEVICES",
        "Logged in from {distinct_devices_7d:device|devices} in the last 7 days",
        risky_when=RiskyWhen(above=1),
    ),
    "distinct_ips_7d": Reason(
        "LOGIN_IPS",
        "Logged in from {distinct_ips_7d:IP address|IP addresses} in the last 7 days",
        risky_when=RiskyWhen(above=1),
    ),
    "days_since_new_device": Reason(
        "NEW_DEVICE",
        "Last login from a new device {days_since_new_device:day|days} ago",
        if_missing="No login from a new device since signup",
        risky_when=RiskyWhen(below=7),
    ),
    "orders_after_new_device_login_7d": Reason(
        "TAKEOVER_CASH_OUT",
        "{orders_after_new_device_login_7d:order|orders} in the last 7 days placed within 24 hours of a first login "
        "from a new device",
    ),
    # Bidding
    "bids_placed_7d": Reason("BID_VELOCITY", "{bids_placed_7d:bid|bids} placed in the last 7 days"),
    "bids_placed_30d": Reason("BID_VELOCITY", "{bids_placed_30d:bid|bids} placed in the last 30 days"),
    "streams_bid_30d": Reason("BID_VELOCITY", "Started bidding in {streams_bid_30d:show|shows} in the last 30 days"),
    "bids_per_stream_30d": Reason(
        "BIDS_PER_SHOW",
        "{bids_per_stream_30d:.1f} bids per show in the last 30 days ({bids_placed_30d:bid|bids}, "
        "{streams_bid_30d:new show|new shows})",
        if_missing="No new show bid on in the last 30 days",
        risky_when=RiskyWhen(above=2),
    ),
    "top_seller_bid_share_30d": Reason(
        "BIDDING_CONCENTRATION",
        "{top_seller_bid_share_30d:.0%} of the account's bids in the last 30 days went to one seller",
        if_missing="No bids in the last 30 days",
        risky_when=RiskyWhen(above=0.5),
    ),
    "top_seller_lot_share_30d": Reason(
        "SHILL_BIDDING",
        "Bid on {top_seller_lot_share_30d:.0%} of one seller's lots in the last 30 days",
        if_missing="No seller bid on had enough lots in the last 30 days",
        risky_when=RiskyWhen(above=0.25),
    ),
    "distinct_sellers_bid_30d": Reason(
        "BIDDING_CONCENTRATION",
        "Bid in shows of {distinct_sellers_bid_30d:seller|sellers} in the last 30 days",
        risky_when=RiskyWhen(above=0, below=2),  # all of its bidding on one seller
    ),
    "lots_bid_30d": Reason("BID_VELOCITY", "Started bidding on {lots_bid_30d:lot|lots} in the last 30 days"),
    "lots_won_30d": Reason(
        "BID_OUTCOMES", "{lots_won_30d:order|orders} from live shows in the last 30 days", risky_when=CONTEXT_ONLY
    ),
    "lots_lost_share_30d": Reason(
        "BID_OUTCOMES",
        "Did not win {lots_lost_share_30d:.0%} of the {lots_bid_30d:lot|lots} first bid on in the last 30 days",
        if_missing="No new lots bid on in the last 30 days",
        risky_when=CONTEXT_ONLY,  # most bidders lose most lots: losing is no evidence
    ),
    "bids_on_linked_sellers_30d": Reason(
        "SHILL_BIDDING",
        "{bids_on_linked_sellers_30d:bid|bids} in the last 30 days in shows of sellers linked to the account",
    ),
    # Seller behaviour
    # Sales volume is what an honest seller has most of: the model weighs it, reasons never quote it.
    "orders_sold_7d": Reason(
        "SELLER_ACTIVITY", "{orders_sold_7d:order|orders} sold in the last 7 days", risky_when=CONTEXT_ONLY
    ),
    "orders_sold_30d": Reason(
        "SELLER_ACTIVITY", "{orders_sold_30d:order|orders} sold in the last 30 days", risky_when=CONTEXT_ONLY
    ),
    "orders_sold_total": Reason(
        "SELLER_ACTIVITY", "{orders_sold_total:order|orders} sold over the account's lifetime", risky_when=CONTEXT_ONLY
    ),
    "gmv_usd_30d": Reason("SELLER_ACTIVITY", "{gmv_usd_30d:usd} in sales in the last 30 days", risky_when=CONTEXT_ONLY),
    "orders_sold_7d_vs_baseline": Reason(
        "SALES_SPIKE",
        "{orders_sold_7d:order|orders} sold in the last 7 days, {orders_sold_7d_vs_baseline:.1f} times "
        "the usual weekly number",
        if_missing="{orders_sold_7d:order|orders} sold in the last 7 days, none in the 23 days before",
        risky_when=RiskyWhen(above=5, unknown=True),
    ),
    "orders_due_for_shipping": Reason(
        "SELLER_NOT_SHIPPING",
        "{orders_due_for_shipping:recent order|recent orders} past the 7-day shipping deadline, "
        "{overdue_orders:.0f} still unshipped",
        risky_when=CONTEXT_ONLY,  # a volume; what is overdue is overdue_shipping_share's reason
    ),
    "overdue_shipping_share": Reason(
        "SELLER_NOT_SHIPPING",
        "{overdue_shipping_share:.0%} of {orders_due_for_shipping:recent order|recent orders} past the 7-day "
        "shipping deadline still unshipped",
        if_missing="No recent orders past the shipping deadline",
        risky_when=RiskyWhen(above=0.05),
    ),
    "avg_ship_delay_hours_30d": Reason(
        "SLOW_SHIPPING",
        "Orders shipped {avg_ship_delay_days_30d:.1f} days after purchase on average (shipments of the last 30 days)",
        if_missing="No shipments in the last 30 days",
        risky_when=RiskyWhen(above=120),  # over 5 days
    ),
    "orders_cancelled_30d": Reason(
        "SELLER_CANCELLATIONS", "{orders_cancelled_30d:sale|sales} by the account cancelled in the last 30 days"
    ),
    "refund_rate_as_seller_30d": Reason(
        "SELLER_REFUNDS",
        "{refunds_as_seller_30d:refund|refunds} on sales vs {orders_sold_30d:order|orders} sold in the last 30 days",
        if_missing="No orders sold in the last 30 days",
        risky_when=RiskyWhen(above=0.15),
    ),
    "not_received_rate_30d": Reason(
        "ITEM_NOT_RECEIVED",
        "{not_received_claims_30d:item-not-received claim|item-not-received claims} vs "
        "{orders_sold_30d:order|orders} sold in the last 30 days",
        if_missing="No orders sold in the last 30 days",
        risky_when=RiskyWhen(above=0.05),
    ),
    "chargebacks_as_seller_total": Reason(
        "SELLER_CHARGEBACKS",
        "{chargebacks_as_seller_total:chargeback|chargebacks} on the account's sales over its lifetime",
    ),
    "reports_received_30d": Reason(
        "USER_REPORTS", "{reports_received_30d:user report|user reports} against the account in the last 30 days"
    ),
    "scam_reports_received_30d": Reason(
        "SCAM_REPORTS",
        "{scam_reports_received_30d:scam or counterfeit report|scam or counterfeit reports} against the account "
        "in the last 30 days",
    ),
    "shill_reports_received_30d": Reason(
        "SHILL_REPORTS",
        "{shill_reports_received_30d:shill-bidding report|shill-bidding reports} against the account "
        "in the last 30 days",
    ),
    "streams_hosted_30d": Reason(
        "SELLER_ACTIVITY", "Hosted {streams_hosted_30d:show|shows} in the last 30 days", risky_when=CONTEXT_ONLY
    ),
    "bids_received_30d": Reason(
        "SELLER_ACTIVITY",
        "{bids_received_30d:bid|bids} received in the account's shows in the last 30 days",
        risky_when=CONTEXT_ONLY,
    ),
    "linked_bidder_share_30d": Reason(
        "SHILL_BIDDING",
        "{linked_bidder_share_30d:.0%} of {bids_received_30d:bid|bids} in the account's shows in the last 30 days "
        "came from linked accounts",
        if_missing="No bids received in the account's shows in the last 30 days",
    ),
    "top_bidder_lot_share_30d": Reason(
        "SHILL_BIDDING",
        "One bidder bid on {top_bidder_lot_share_30d:.0%} of the account's lots in the last 30 days",
        if_missing="Fewer lots in the account's shows in the last 30 days than the share needs",
        risky_when=RiskyWhen(above=0.25),
    ),
    # Own enforcement history
    "warnings_received_total": Reason(
        "PRIOR_WARNINGS", "{warnings_received_total:warning|warnings} received over the account's lifetime"
    ),
    "suspensions_received_total": Reason(
        "PRIOR_SUSPENSIONS",
        "{suspensions_received_total:suspension or ban|suspensions or bans} for abuse over the account's lifetime",
    ),
    # A reinstatement undoes a suspension: it is never held against the account.
    "reinstatements_received_total": Reason(
        "PRIOR_SUSPENSIONS",
        "Reinstated {reinstatements_received_total:time|times} after a suspension or ban",
        risky_when=CONTEXT_ONLY,
    ),
    # Network (linked accounts)
    "linked_by_card": Reason("SHARED_CARD", "Shares a card with {linked_by_card:other account|other accounts}"),
    "linked_by_address": Reason(
        "SHARED_ADDRESS", "Shipped to an address also used by {linked_by_address:other account|other accounts}"
    ),
    "linked_by_device": Reason("SHARED_DEVICE", "Shares a device with {linked_by_device:other account|other accounts}"),
    "linked_by_ip": Reason("SHARED_IP", "Shares an IP address with {linked_by_ip:other account|other accounts}"),
    "linked_accounts": Reason(
        "LINKED_ACCOUNTS", "Shares a device, card or address with {linked_accounts:other account|other accounts}"
    ),
    "linked_group_size": Reason(
        "LINKED_ACCOUNTS",
        "In a network of {linked_group_others:other account|other accounts} linked directly or indirectly "
        "by device, card or address",
        risky_when=RiskyWhen(above=1),  # the group counts the account itself
    ),
    "linked_actioned_accounts": Reason(
        "LINKED_TO_ACTIONED",
        "Shares a device, card or address with {linked_actioned_accounts:account|accounts} now suspended or banned "
        "for abuse",
    ),
    "linked_actioned_share": Reason(
        "LINKED_TO_ACTIONED",
        "{linked_actioned_share:.0%} of {linked_accounts:linked account|linked accounts} now suspended or banned "
        "for abuse",
        if_missing="No accounts linked by device, card or address",
    ),
    "linked_charged_back_accounts": Reason(
        "LINKED_TO_CHARGEBACKS",
        "Shares a device, card or address with {linked_charged_back_accounts:account|accounts} that had a fraud "
        "or item-not-received chargeback",
    ),
    "linked_created_within_7d": Reason(
        "LINKED_ACCOUNTS",
        "Shares a device, card or address with {linked_created_within_7d:account|accounts} that signed up within "
        "7 days of it",
        risky_when=RiskyWhen(above=1),  # one friend signing up the same week is common; a batch is not
    ),
}

# Reads one feature of the account(s) being rendered: a float for one row, an array for many
# (NaN when unknown). DERIVED values are numpy expressions, so both work.
_Getter = Callable[[str], float | np.ndarray]


def _overdue_orders(get: _Getter) -> float | np.ndarray:
    # The share is null when nothing is due: then nothing is overdue either.
    due = get("orders_due_for_shipping")
    return np.where(due == 0, 0.0, get("overdue_shipping_share") * due)


# Keys templates may use besides the features: counts recovered from ratios, friendlier units.
DERIVED: dict[str, Callable[[_Getter], float | np.ndarray]] = {
    "avg_ship_delay_days_30d": lambda get: get("avg_ship_delay_hours_30d") / 24,
    "refunds_as_seller_30d": lambda get: get("refund_rate_as_seller_30d") * get("orders_sold_30d"),
    "not_received_claims_30d": lambda get: get("not_received_rate_30d") * get("orders_sold_30d"),
    "overdue_orders": _overdue_orders,
    "linked_group_others": lambda get: np.maximum(get("linked_group_size") - 1, 0.0),
}

# A risky-looking account, used for the examples in REASON_CODES.md and to validate templates.
EXAMPLE_ROW: dict[str, float] = {
    "account_age_days": 40,
    "is_phone_verified": 0,
    "has_disposable_email_domain": 1,
    "is_seller": 1,
    "seller_tenure_days": 12,
    "active_days_30d": 6,
    "active_days_90d": 9,
    "cards_on_file": 5,
    "cards_added_1d": 3,
    "cards_added_7d": 4,
    "cards_added_30d": 5,
    "prepaid_card_share": 0.6,
    "foreign_card_share": 0.4,
    "orders_with_foreign_card_30d": 2,
    "orders_with_prepaid_card_30d": 4,
    "orders_placed_1d": 4,
    "orders_placed_7d": 9,
    "orders_placed_30d": 11,
    "orders_placed_total": 12,
    "spend_usd_1d": 1180,
    "spend_usd_7d": 2350,
    "spend_usd_30d": 2610,
    "spend_usd_90d": 2900,
    "spend_7d_vs_baseline": 50.7,
    "distinct_sellers_7d": 6,
    "distinct_sellers_30d": 7,
    "high_value_orders_7d": 3,
    "small_orders_30d": 4,
    "orders_to_new_address_30d": 2,
    "refunds_as_buyer_30d": 1,
    "chargebacks_as_buyer_total": 2,
    "fraud_chargebacks_as_buyer_total": 1,
    "successful_logins_30d": 14,
    "failed_logins_1d": 12,
    "failed_logins_7d": 31,
    "failed_login_burst_days_7d": 2,
    "new_devices_1d": 1,
    "new_devices_7d": 3,
    "new_countries_1d": 1,
    "new_countries_7d": 2,
    "new_device_and_country_logins_7d": 2,
    "distinct_devices_7d": 4,
    "distinct_ips_7d": 6,
    "days_since_new_device": 0,
    "orders_after_new_device_login_7d": 3,
    "bids_placed_7d": 48,
    "bids_placed_30d": 130,
    "streams_bid_30d": 8,
    "bids_per_stream_30d": 16.25,
    "top_seller_bid_share_30d": 0.85,
    "top_seller_lot_share_30d": 0.4,
    "distinct_sellers_bid_30d": 1,
    "lots_bid_30d": 40,
    "lots_won_30d": 1,
    "lots_lost_share_30d": 0.975,
    "bids_on_linked_sellers_30d": 95,
    "orders_sold_7d": 14,
    "orders_sold_30d": 17,
    "orders_sold_total": 17,
    "gmv_usd_30d": 3400,
    "orders_sold_7d_vs_baseline": 15.3,
    "orders_due_for_shipping": 5,
    "overdue_shipping_share": 0.8,
    "avg_ship_delay_hours_30d": 170,
    "orders_cancelled_30d": 3,
    "refund_rate_as_seller_30d": 4 / 17,
    "not_received_rate_30d": 5 / 17,
    "chargebacks_as_seller_total": 2,
    "reports_received_30d": 4,
    "scam_reports_received_30d": 2,
    "shill_reports_received_30d": 1,
    "streams_hosted_30d": 3,
    "bids_received_30d": 210,
    "linked_bidder_share_30d": 0.3,
    "top_bidder_lot_share_30d": 0.45,
    "warnings_received_total": 1,
    "suspensions_received_total": 1,
    "reinstatements_received_total": 1,
    "linked_by_card": 4,
    "linked_by_address": 2,
    "linked_by_device": 5,
    "linked_by_ip": 9,
    "linked_accounts": 6,
    "linked_group_size": 11,
    "linked_actioned_accounts": 2,
    "linked_actioned_share": 2 / 6,
    "linked_charged_back_accounts": 1,
    "linked_created_within_7d": 4,
}


def _known(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _format_value(value: float, spec: str) -> str:
    """One field: our `noun|nouns` and `usd` specs, else `format`; unknown values as words."""
    if "|" in spec:
        singular, plural = spec.split("|", 1)
        if not _known(value):
            return f"an unknown number of {plural}"
        count = round(value)
        return f"{count:,} {singular if count == 1 else plural}"
    if spec == "usd":
        return f"${value:,.0f}" if _known(value) else "an unknown amount"
    return format(value, spec) if _known(value) else UNKNOWN


@functools.cache
def _parsed(template: str) -> tuple[tuple[str, str | None, str, str | None], ...]:
    """(literal, field, spec, conversion) pieces, parsed once per template: `string.Formatter`
    would re-parse on every call, which dominates the cost for hundreds of thousands of rows."""
    return tuple(
        (literal, field, spec or "", conversion) for literal, field, spec, conversion in _PARSER.parse(template)
    )


_PARSER = string.Formatter()


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]  # "An unknown number of ..." starts a sentence too


def _render(reason: Reason, feature: str, get: _Getter) -> str:
    parts = []
    for literal, field, spec, _ in _parsed(reason.template_for(get(feature))):
        parts.append(literal)
        if field is not None:
            derive = DERIVED.get(field)
            parts.append(_format_value(float(derive(get)) if derive is not None else get(field), spec))
    return _sentence("".join(parts))


_RENDER_EACH_UP_TO = 1500  # picks rendered one by one; more are rendered one feature at a time
_FORMAT_EACH_UP_TO = 64  # below this many values, finding the distinct ones costs more than it saves


def _row_getter(row: list[float], position: Mapping[str, int]) -> _Getter:
    def get(name: str) -> float:
        j = position.get(name)
        return math.nan if j is None else row[j]

    return get


def _formatted(values: np.ndarray, spec: str, first: bool) -> np.ndarray:
    """`_format_value` of each value (capitalised when it starts the text), computed once per
    distinct value: a day's reasons quote few distinct counts, so this is the whole saving."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if len(values) <= _FORMAT_EACH_UP_TO:
        distinct, inverse = values, None
    else:
        bits, inverse = np.unique(values.view(np.int64), return_inverse=True)  # -0.0 and 0.0 stay apart
        distinct = bits.view(np.float64)
    texts = np.empty(len(distinct), dtype=object)
    texts[:] = [_sentence(_format_value(v, spec)) if first else _format_value(v, spec) for v in distinct.tolist()]
    return texts if inverse is None else texts[inverse.reshape(-1)]


def _variants(reason: Reason, own: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each text of the reason with the rows (by the feature's own values) it is used for:
    `Reason.template_for`, one mask per template."""
    none = np.zeros(len(own), dtype=bool)
    missing = np.isnan(own) if reason.if_missing is not None else none
    false = (own == 0) & ~missing if reason.if_false is not None else none
    variants = ((reason.if_missing, missing), (reason.if_false, false), (reason.template, ~(missing | false)))
    return [(template, rows) for template, rows in variants if template is not None]


def _value_of(name: str, column: Callable[[str], np.ndarray]) -> np.ndarray:
    derive = DERIVED.get(name)
    return np.asarray(derive(column) if derive is not None else column(name), dtype=np.float64)


_PRECISION = re.compile(r"^\.(\d+)([f%])$")


def _as_shown(values: np.ndarray, spec: str) -> np.ndarray:
    """The values as `_format_value` prints them with `spec`: 0.3 cards print as "0 cards"."""
    if "|" in spec or spec == "usd":
        return np.round(values)
    precision = _PRECISION.match(spec)
    if precision is None:
        return values
    digits, kind = int(precision[1]), precision[2]
    return np.round(values * 100 if kind == "%" else values, digits)


def citable(reason: Reason, feature: str, column: Callable[[str], np.ndarray]) -> np.ndarray:
    """Per row, may `feature`'s reason be quoted? Its value must be risky (`risky_when`), and
    every quantity its text quotes must be known and not print as zero, so a text never offers
    a zero or an unknown as evidence; the feature's own value may print as zero only where zero
    is risky (an account 0 days old). `column(name)` gives the rows' values of a feature."""
    own = column(feature)
    allowed = reason.risky_when.holds(own)
    own_zero_risky = bool(reason.risky_when.holds(np.zeros(1))[0])
    for template, rows in _variants(reason, own):
        for _, field, spec, _ in _parsed(template):
            if field is None or (field == feature and own_zero_risky):
                continue
            quoted = np.broadcast_to(_value_of(field, column), own.shape)
            shown = _as_shown(quoted, spec)
            allowed &= ~rows | (np.isfinite(quoted) & (shown != 0))
    return allowed


def _render_many(reason: Reason, feature: str, column: Callable[[str], np.ndarray]) -> np.ndarray:
    """`_render` of many rows at once, `column(name)` giving their values: the same texts (each
    value goes through `_format_value`), built one template variant and field at a time."""
    own = column(feature)
    texts = np.empty(len(own), dtype=object)
    for template, rows in _variants(reason, own):
        if not rows.any():
            continue
        text: np.ndarray = np.full(int(rows.sum()), "", dtype=object)
        first = True
        for literal, field, spec, _ in _parsed(template):
            if literal:
                text = text + (_sentence(literal) if first else literal)  # element-wise str concatenation
                first = False
            if field is not None:
                derive = DERIVED.get(field)
                values = derive(lambda name, rows=rows: column(name)[rows]) if derive else column(field)[rows]
                text = text + _formatted(np.broadcast_to(values, text.shape), spec, first)
                first = False
        texts[rows] = text
    return texts


def _as_float(value: object) -> float:
    return math.nan if value is None or value is pd.NA else float(value)  # type: ignore[arg-type]


def reason_text(feature: str, row: Mapping[str, object], vocabulary: Mapping[str, Reason] = VOCABULARY) -> str:
    """The text of `feature`'s reason for one account's feature row (absent features read as unknown)."""
    return _render(vocabulary[feature], feature, lambda name: _as_float(row.get(name)))


def reason_codes_for(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    k: int = 3,
    *,
    vocabulary: Mapping[str, Reason] | None = None,
) -> pd.DataFrame:
    """The top-k reasons of each row: columns reason_code_1, reason_text_1, ... reason_text_k.

    Only strictly positive contributions of `citable` features count (a risky value, no zero
    quoted), larger first, earlier feature (column order) first on ties; of features sharing a
    code only the largest counts, so a row's codes are distinct. Slots without such a
    contributor are None. `values` holds the feature values (float, NaN unknown) on the same
    index; templates may read any of its columns. `vocabulary`: `VOCABULARY` unless given.
    """
    vocabulary = VOCABULARY if vocabulary is None else vocabulary
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    features = list(contributions.columns)
    unknown = [f for f in features if f not in vocabulary]
    if unknown:
        raise ValueError(f"no reason for {len(unknown)} contribution columns: {unknown[:10]}")
    absent = [f for f in features if f not in values.columns]
    if absent:
        raise ValueError(f"values lack {len(absent)} contribution columns: {absent[:10]}")
    if not values.index.equals(contributions.index):
        raise ValueError("contributions and values must have the same index")

    n = len(contributions)
    columns = [c for c in values.columns if c in vocabulary]
    position = {name: i for i, name in enumerate(columns)}
    matrix = values[columns].to_numpy(dtype=np.float64, na_value=np.nan)

    def column(name: str) -> np.ndarray:
        i = position.get(name)
        return np.full(n, np.nan) if i is None else matrix[:, i]

    score = contributions.to_numpy(dtype=np.float64, copy=True)
    score[~(score > 0)] = -np.inf  # zeros, negatives and NaN never make a reason
    for j, feature in enumerate(features):
        score[~citable(vocabulary[feature], feature, column), j] = -np.inf  # nor a neutral value
    codes = np.array([vocabulary[f].code for f in features], dtype=object)
    rows = np.arange(n)
    for code in dict.fromkeys(codes):
        members = np.flatnonzero(codes == code)
        if len(members) > 1:
            # Keep the code's largest contribution (argmax: its first feature on ties), drop the rest.
            block = score[:, members]
            keep = block.argmax(axis=1)
            kept = block[rows, keep]
            block[:] = -np.inf
            block[rows, keep] = kept
            score[:, members] = block

    # The k largest, one at a time: argmax takes the first column among equals, so ties go to
    # the earlier feature (what a stable sort gives, without sorting all columns). -1: no reason.
    chosen = np.full((n, k), -1)
    for slot in range(min(k, score.shape[1])):
        best = score.argmax(axis=1)
        chosen[:, slot] = np.where(np.isfinite(score[rows, best]), best, -1)
        score[rows, best] = -np.inf

    # Formatting. Many picks: one feature at a time, its template rendering every row that picked
    # it. Few (a day's flagged accounts, one account explained): one pick at a time is cheaper.
    texts = np.full((n, k), None, dtype=object)
    picked_rows, picked_slots = np.nonzero(chosen >= 0)
    picked = chosen[picked_rows, picked_slots]
    if len(picked) <= _RENDER_EACH_UP_TO:
        for i, slot, j in zip(picked_rows.tolist(), picked_slots.tolist(), picked.tolist(), strict=True):
            texts[i, slot] = _render(vocabulary[features[j]], features[j], _row_getter(matrix[i].tolist(), position))
    else:
        for j in np.unique(picked).tolist():
            mine = picked == j
            rows_of_j = picked_rows[mine]

            def column_of_j(name: str, rows_of_j: np.ndarray = rows_of_j) -> np.ndarray:
                i = position.get(name)
                return np.full(len(rows_of_j), np.nan) if i is None else matrix[rows_of_j, i]

            texts[rows_of_j, picked_slots[mine]] = _render_many(vocabulary[features[j]], features[j], column_of_j)

    code_or_none = np.append(codes, None)[chosen]  # index -1 picks the None
    result = pd.DataFrame(index=contributions.index)
    for slot in range(k):
        result[f"reason_code_{slot + 1}"] = code_or_none[:, slot]
        result[f"reason_text_{slot + 1}"] = texts[:, slot]
    return result


def _template_problems(template: str, names: set[str]) -> list[str]:
    """What is wrong with a template's fields: unknown names, conversions, nested specs."""
    try:
        pieces = _parsed(template)
    except ValueError as error:
        return [f"does not parse: {error}"]
    problems = []
    for _, field, spec, conversion in pieces:
        if field is None:
            continue
        if field not in names:
            problems.append(f"reads unknown name {field!r}")
        if conversion is not None or "{" in spec:
            problems.append(f"field {field!r}: conversions and nested specs are not supported")
    return problems


def validate_vocabulary(features: list[str], vocabulary: Mapping[str, Reason] = VOCABULARY) -> None:
    """Raise ValueError listing every problem: features without a reason, reasons for non-features,
    malformed codes, and templates that read unknown names or fail (or print nan) on a row of
    all-unknown values, of zeros (booleans false), of ones (true) or the example row."""
    problems: list[str] = []
    missing = [f for f in features if f not in vocabulary]
    extra = [f for f in vocabulary if f not in features]
    if missing:
        problems.append(f"features without a reason: {missing}")
    if extra:
        problems.append(f"reasons for names that are not model features: {extra}")

    names = set(features) | set(DERIVED)
    rows = {
        "all unknown": dict.fromkeys(features, math.nan),
        "all zero": dict.fromkeys(features, 0.0),
        "all one": dict.fromkeys(features, 1.0),
        "example": {f: float(EXAMPLE_ROW.get(f, 1.0)) for f in features},
    }
    for feature in (f for f in features if f in vocabulary):
        reason = vocabulary[feature]
        risky = reason.risky_when
        if risky.above is not None and risky.below is not None and risky.above >= risky.below:
            problems.append(f"{feature}: risky_when holds for no value (above {risky.above}, below {risky.below})")
        if not CODE_PATTERN.match(reason.code):
            problems.append(f"{feature}: code {reason.code!r} is not UPPER_SNAKE_CASE")
        if reason.if_false is not None and reason.if_missing is None:
            problems.append(f"{feature}: a boolean reason needs an if_missing text")
        templates = [t for t in (reason.template, reason.if_false, reason.if_missing) if t is not None]
        broken = [f"{feature}: template {t!r} {p}" for t in templates for p in _template_problems(t, names)]
        if broken:
            problems += broken
            continue
        for label, row in rows.items():
            try:
                text = reason_text(feature, row, vocabulary)
            except Exception as error:  # any formatting failure is a broken template
                problems.append(f"{feature}: template fails on the {label} row: {error!r}")
                continue
            if re.search(r"\b(?:nan|inf)\b", text, flags=re.I) or re.search(r"\bNone\b", text):
                problems.append(f"{feature}: renders {text!r} on the {label} row")
            if len(text) > MAX_TEXT_CHARS:
                problems.append(f"{feature}: {len(text)} characters on the {label} row (max {MAX_TEXT_CHARS})")
    if problems:
        raise ValueError("reason vocabulary:\n  " + "\n  ".join(problems))


INTRODUCTION = (
    "Each scored account carries up to three reasons: the features whose TreeSHAP contributions push "
    "its raw score up the most, largest first. Only strictly positive contributions count, and of "
    "features sharing a code only the largest is reported, so the codes of one account are distinct. "
    "A contribution can be positive at a neutral value (no card shared, an old account, prompt shipping), "
    "so a reason is quoted only when its feature's value is evidence of risk (the column *quoted when*) "
    "and every other quantity its text quotes is known and not zero: a text never offers a zero as a "
    "risk signal. Context features (*never* in that column: sales volume, activity level, seller "
    "status, ...) are weighed by the model and never quoted. An account none of whose values may be "
    "quoted gets `COMBINED_SIGNALS` as its only reason, and the sync never blocks on it (a person "
    "reviews the account instead); the daily gate refuses to publish a day with a flagged account "
    "left without a reason (`decisions_explained`). Enforcement keys on "
    'the code; the text is for investigators. In the texts, "the last day" is the scored as-of day '
    '(UTC) and "the last N days" the N days up to and including it; every window counts an event '
    "from the day it became known to the warehouse (see dbt_project/FEATURES.md). Unknown values read "
    '"unknown".'
)


def render_reason_codes(models_yml: Path = DEFAULT_MODELS_YML) -> str:
    """The markdown page of the vocabulary: codes, their features, example texts and meanings."""
    features = model_feature_columns(models_yml)
    validate_vocabulary(features)
    described = {c.name: c for c in load_feature_columns(models_yml)}
    by_code: dict[str, list[str]] = {}
    for feature in features:
        by_code.setdefault(VOCABULARY[feature].code, []).append(feature)

    lines = [
        "# Reason codes",
        "",
        f"<!-- Generated from ml/score/reasons.py and dbt_project/{MODELS_YML_IN_PROJECT} by "
        "`uv run python -m ml.score.reasons`. Do not edit by hand. -->",
        "",
        INTRODUCTION,
        "",
        f"{len(by_code)} codes over {len(features)} model features.",
        "",
        "## Codes",
        "",
        "| code | feature(s) |",
        "| --- | --- |",
    ]
    lines += [f"| `{code}` | {', '.join(f'`{f}`' for f in members)} |" for code, members in by_code.items()]
    lines += [
        "",
        "## Texts",
        "",
        "Examples use one illustrative account's values. A reason fires when its feature is among the "
        "account's largest positive contributions; the meaning is the feature's definition.",
        "",
        "| code | feature | example text | quoted when | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for code, members in by_code.items():
        for feature in members:
            reason = VOCABULARY[feature]
            row = dict(EXAMPLE_ROW)
            if reason.if_false is not None:
                examples = [
                    f"If true: {reason_text(feature, {**row, feature: 1.0})}",
                    f"If false: {reason_text(feature, {**row, feature: 0.0})}",
                ]
            else:
                examples = [reason_text(feature, row)]
            if reason.if_missing is not None:
                examples.append(f"If unknown: {reason_text(feature, {**row, feature: math.nan})}")
            column = described[feature]
            meaning = f"({column.window}, {column.unit}) {column.description}"
            cells = ["`" + code + "`", f"`{feature}`", table_cell("<br>".join(examples)), reason.risky_when.describe()]
            lines.append("| " + " | ".join([*cells, table_cell(meaning)]) + " |")
    lines += [
        "",
        "## Rules",
        "",
        "Codes of `ml/score/rules.py`: a rule moves an `allow` row it matches to `review`, the rule as its only "
        "reason (never to `block`, never over the model's own `review` or `block`). Daily rules run wherever the model "
        "bands a day; near-real-time-only rules in the intraday batches, whose reviews the daily run reconciles "
        "the next morning.",
        "",
        "| code | runs in | matches when | example text | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in INTRADAY_RULES:
        runs_in = "daily and near-real-time" if rule in DAILY_RULES else "near-real-time only"
        when = rule.condition()
        example = rule.reason_text(
            {feature: EXAMPLE_ROW.get(feature, minimum) for feature, minimum in rule.minimums.items()}
        )
        lines.append(f"| `{rule.code}` | {runs_in} | {when} | {table_cell(example)} | {table_cell(rule.meaning)} |")
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    models_yml: Path = DEFAULT_MODELS_YML,
    output: Path = DEFAULT_OUTPUT,
) -> int:
    """Write the page, or with `--check` return 1 if the file on disk differs from it."""
    return write_or_check(
        argv,
        prog="ml.score.reasons",
        output=output,
        sources=f"the reason vocabulary and {display(models_yml)}",
        render=lambda: render_reason_codes(models_yml),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
