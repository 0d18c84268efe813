"""Who is on the marketplace: accounts, their habits and their sellers.

The whole population is a handful of numpy arrays indexed by account number (1M accounts is
a few hundred MB at most), so later stages can look up any counterpart (the seller of an
order, the ring-mate of a shill) while rows are generated one account chunk at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.simulate.config import SimulationConfig
from ml.simulate.timing import DAY, HOUR, NULL_TS, lognormal_us, seasonal_times
from ml.simulate.vocab import (
    CATEGORY_WEIGHTS,
    DISPOSABLE_DOMAINS,
    EMAIL_WEIGHTS,
    SIGNUP_COUNTRY_WEIGHTS,
)

# Integer namespaces behind device ids, IPs, card fingerprints and addresses. An account's
# own things are derived from its index; shared or one-off things live far above.
DEVICE_SLOTS = 4  # device / IP k of account a is a * DEVICE_SLOTS + k
CARD_SLOTS = 8  # card k of account a has payment method id a * CARD_SLOTS + k
SECOND_ADDRESS = 1 << 50  # + account: gift / work address
FRESH = 1 << 52  # + random: one-off devices and IPs (mobile networks, hotels)
ATTACKER = 1 << 53  # + takeover index: the attacker's device / IP / drop address
RING = 1 << 54  # + ring id: devices / IPs / cards / addresses a ring shares
CREW = 1 << 55  # + crew * 4 + j: stolen card numbers a fraud crew shares


@dataclass(frozen=True)
class Population:
    """Per-account attributes; index = signup order (so ids grow with created_at)."""

    created_us: np.ndarray  # int64, ascending
    country: np.ndarray  # int16 code into vocab.COUNTRIES
    email_domain: np.ndarray  # int16 code into vocab.EMAIL_DOMAINS
    phone_verified: np.ndarray  # bool
    signup_ip: np.ndarray  # int64
    signup_device: np.ndarray  # int64
    home_address: np.ndarray  # int64
    has_second_device: np.ndarray  # bool
    engagement: np.ndarray  # float32, relative weight of buying and bidding (heavy-tailed)
    login_rate: np.ndarray  # float32, logins per active day
    spend_scale: np.ndarray  # float32, multiplies the buyer's typical basket
    is_seller: np.ndarray  # bool, selling enabled before the world ends
    approved_us: np.ndarray  # int64, NULL_TS for non-sellers
    seller_popularity: np.ndarray  # float32, relative share of buyers' attention
    stream_rate: np.ndarray  # float32, shows per day while selling
    category: np.ndarray  # int8 main category code into vocab.CATEGORIES
    ship_delay_days: np.ndarray  # float32, seller's median days from order to shipment
    n_cards: np.ndarray  # int8, payment methods the account adds (<= CARD_SLOTS)

    @property
    def n(self) -> int:
        return len(self.created_us)


def _signup_times(cfg: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """Backlog accounts over the 2 years before start (growing platform), the rest inside."""
    n_backlog = round(cfg.n_accounts * cfg.backlog_share)
    n_new = cfg.n_accounts - n_backlog
    backlog_span = cfg.backlog_days * DAY
    # Density rising linearly towards start_date: sqrt of a uniform.
    age = ((1.0 - np.sqrt(rng.random(n_backlog))) * backlog_span).astype(np.int64)
    backlog = cfg.start_us - 1 - age
    new = seasonal_times(rng, np.full(n_new, cfg.start_us), np.full(n_new, cfg.end_us - DAY // 2))
    return np.sort(np.concatenate([backlog, new]))


def build_population(cfg: SimulationConfig, rng: np.random.Generator) -> Population:
    """Draw every account's attributes; abuse roles are layered on later (abuse.py)."""
    n = cfg.n_accounts
    created = _signup_times(cfg, rng)
    index = np.arange(n, dtype=np.int64)

    country = rng.choice(
        len(SIGNUP_COUNTRY_WEIGHTS), n, p=SIGNUP_COUNTRY_WEIGHTS / SIGNUP_COUNTRY_WEIGHTS.sum()
    ).astype(np.int16)
    email = rng.choice(len(EMAIL_WEIGHTS), n, p=EMAIL_WEIGHTS / EMAIL_WEIGHTS.sum())
    # Some honest people use throwaway mail too, so the domain alone proves nothing.
    disposable = rng.random(n) < 0.012
    email = np.where(disposable, rng.choice(DISPOSABLE_DOMAINS, n), email).astype(np.int16)

    has_second = rng.random(n) < 0.55
    signup_device = index * DEVICE_SLOTS + (has_second & (rng.random(n) < 0.2))
    signup_ip = np.where(
        rng.random(n) < 0.8,
        index * DEVICE_SLOTS,
        FRESH + rng.integers(0, 1 << 40, n),
    )

    # 30% of accounts barely buy; the rest are lognormal, which yields a few power buyers.
    dormant = rng.random(n) < 0.3
    engagement = np.minimum(np.exp(rng.standard_normal(n)), 30.0) * np.where(dormant, 0.08, 1.0)

    seller_candidate = rng.random(n) < cfg.seller_share
    approved = created + np.maximum(lognormal_us(rng, n, 6 * DAY, 1.0), HOUR)
    is_seller = seller_candidate & (approved < cfg.end_us)
    approved = np.where(is_seller, approved, NULL_TS)
    # Big sellers: lognormal popularity; a quarter of sellers hardly ever go live.
    popularity = np.exp(rng.standard_normal(n)) * np.where(rng.random(n) < 0.25, 0.15, 1.0)
    popularity = np.where(is_seller, popularity, 0.0)
    stream_rate = np.minimum(0.07 * popularity, 1.2)
    category = rng.choice(len(CATEGORY_WEIGHTS), n, p=CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum())

    login_rate = 0.04 + 0.09 * engagement**0.8 + 0.35 * is_seller
    return Population(
        created_us=created,
        country=country,
        email_domain=email,
        phone_verified=rng.random(n) < 0.78,
        signup_ip=signup_ip.astype(np.int64),
        signup_device=signup_device.astype(np.int64),
        home_address=index.copy(),
        has_second_device=has_second,
        engagement=engagement.astype(np.float32),
        login_rate=np.minimum(login_rate, 5.0).astype(np.float32),
        spend_scale=np.exp(0.35 * rng.standard_normal(n)).astype(np.float32),
        is_seller=is_seller,
        approved_us=approved.astype(np.int64),
        seller_popularity=popularity.astype(np.float32),
        stream_rate=stream_rate.astype(np.float32),
        category=category.astype(np.int8),
        ship_delay_days=np.exp(np.log(1.6) + 0.45 * rng.standard_normal(n)).astype(np.float32),
        n_cards=(1 + rng.binomial(2, 0.22, n)).astype(np.int8),
    )
