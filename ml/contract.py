"""The raw source contract (../shared/contracts/raw_sources.md) as data.

One place states every table's columns, types, keys and allowed values, so the simulator
writes exactly what ingestion validates and what the dbt sources declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "timestamp", "boolean", "amount"]

# Rows may arrive up to 7 days after their event time (contract: "Conventions").
MAX_LATENESS_DAYS = 7


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    allowed: tuple[str, ...] | None = None  # enum values; anything else is malformed


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: str
    event_time: str  # the column that says when the row's fact happened
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _s(name: str, nullable: bool = False) -> Column:
    return Column(name, "string", nullable)


def _ts(name: str, nullable: bool = False) -> Column:
    return Column(name, "timestamp", nullable)


def _enum(name: str, *allowed: str) -> Column:
    return Column(name, "string", False, allowed)


_LOADED_AT = _ts("_loaded_at")

CARD_TYPES = ("credit", "debit", "prepaid")
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled")
REFUND_REASONS = ("not_received", "not_as_described", "buyer_remorse", "other")
CHARGEBACK_REASONS = ("fraud", "not_received", "not_as_described", "other")
REPORT_REASONS = ("scam", "counterfeit", "shill_bidding", "harassment", "other")
ENFORCEMENT_ACTIONS = ("warn", "suspend", "ban", "reinstate")
ABUSE_TYPES = (
    "payment_fraud",
    "account_takeover",
    "seller_scam",
    "shill_bidding",
    "multi_accounting",
    "none",
)
ENFORCEMENT_SOURCES = ("manual_review", "rule", "model", "appeal")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            "account_id",
            "created_at",
            (
                _s("account_id"),
                _ts("created_at"),
                _s("country"),
                _s("email_domain"),
                Column("phone_verified", "boolean"),
                _s("signup_ip_hash"),
                _s("signup_device_id"),
                Column("is_seller", "boolean"),
                _ts("seller_approved_at", nullable=True),
                _LOADED_AT,
            ),
        ),
        Table(
            "logins",
            "event_id",
            "occurred_at",
            (
                _s("event_id"),
                _s("account_id"),
                _ts("occurred_at"),
                _s("ip_hash"),
                _s("ip_country"),
                _s("device_id"),
                Column("success", "boolean"),
                _LOADED_AT,
            ),
        ),
        Table(
            "payment_methods",
            "payment_method_id",
            "added_at",
            (
                _s("payment_method_id"),
                _s("account_id"),
                _ts("added_at"),
                _s("card_fingerprint"),
                _s("card_country"),
                _enum("card_type", *CARD_TYPES),
                _LOADED_AT,
            ),
        ),
        Table(
            "livestreams",
            "stream_id",
            "started_at",
            (
                _s("stream_id"),
                _s("seller_id"),
                _ts("started_at"),
                _ts("ended_at", nullable=True),
                _s("category"),
                _LOADED_AT,
            ),
        ),
        Table(
            "bids",
            "bid_id",
            "occurred_at",
            (
                _s("bid_id"),
                _s("stream_id"),
                _s("listing_id"),
                _s("bidder_id"),
                _ts("occurred_at"),
                Column("amount_usd", "amount"),
                _LOADED_AT,
            ),
        ),
        Table(
            "orders",
            "order_id",
            "created_at",
            (
                _s("order_id"),
                _s("buyer_id"),
                _s("seller_id"),
                _s("stream_id", nullable=True),
                _s("listing_id"),
                _ts("created_at"),
                Column("amount_usd", "amount"),
                _s("payment_method_id"),
                _s("shipping_address_hash"),
                _enum("status", *ORDER_STATUSES),
                _ts("shipped_at", nullable=True),
                _ts("delivered_at", nullable=True),
                _LOADED_AT,
            ),
        ),
        Table(
            "refunds",
            "refund_id",
            "created_at",
            (
                _s("refund_id"),
                _s("order_id"),
                _ts("created_at"),
                Column("amount_usd", "amount"),
                _enum("reason", *REFUND_REASONS),
                _LOADED_AT,
            ),
        ),
        Table(
            "chargebacks",
            "chargeback_id",
            "reported_at",
            (
                _s("chargeback_id"),
                _s("order_id"),
                _ts("reported_at"),
                _enum("reason", *CHARGEBACK_REASONS),
                Column("amount_usd", "amount"),
                _LOADED_AT,
            ),
        ),
        Table(
            "user_reports",
            "report_id",
            "occurred_at",
            (
                _s("report_id"),
                _s("reporter_id"),
                _s("reported_id"),
                _ts("occurred_at"),
                _enum("reason", *REPORT_REASONS),
                _LOADED_AT,
            ),
        ),
        Table(
            "enforcement_actions",
            "action_id",
            "occurred_at",
            (
                _s("action_id"),
                _s("account_id"),
                _ts("occurred_at"),
                _enum("action", *ENFORCEMENT_ACTIONS),
                _enum("abuse_type", *ABUSE_TYPES),
                _enum("source", *ENFORCEMENT_SOURCES),
                _LOADED_AT,
            ),
        ),
    )
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
