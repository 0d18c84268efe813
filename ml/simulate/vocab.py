"""Value lists the simulator draws from (countries, email domains, categories).

Enum values of the raw contract live in `ml.contract`; these are the free-text string
columns whose values the contract only illustrates.
"""

from __future__ import annotations

import numpy as np

# Signup countries: mostly US, then other English-speaking and EU markets. The tail
# countries rarely sign up but show up as card issuers, IP locations and attacker origins.
COUNTRIES: tuple[str, ...] = (
    "US", "GB", "CA", "DE", "FR", "AU", "NL", "ES", "IT", "IE", "SE", "JP", "MX", "BR",
    "NG", "RO", "VN", "RU", "UA", "ID", "PH", "IN", "CN", "HK",
)  # fmt: skip
SIGNUP_COUNTRY_WEIGHTS = np.array(
    [
        56.0,
        10.0,
        8.0,
        5.0,
        4.0,
        4.5,
        1.8,
        1.6,
        1.5,
        1.0,
        0.8,
        1.2,
        1.2,
        1.0,
        0.15,
        0.1,
        0.1,
        0.05,
        0.1,
        0.2,
        0.3,
        0.35,
        0.1,
        0.15,
    ]  # fmt: skip
)
# Where travellers go and where stolen cards and takeovers come from.
TRAVEL_COUNTRIES = np.array([COUNTRIES.index(c) for c in ("GB", "FR", "ES", "IT", "MX", "JP", "DE", "CA", "US", "AU")])
ATTACKER_COUNTRIES = np.array(
    [COUNTRIES.index(c) for c in ("NG", "RO", "VN", "RU", "UA", "ID", "PH", "IN", "BR", "CN", "HK")]
)

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
    "proton.me", "comcast.net", "gmx.de", "orange.fr", "btinternet.com", "yahoo.co.uk",
    "mailinator.com", "guerrillamail.com", "10minutemail.com", "tempmail.dev", "yopmail.com",
)  # fmt: skip
EMAIL_WEIGHTS = np.array([46.0, 11.0, 8.0, 7.0, 12.0, 2.5, 2.5, 2.0, 2.0, 1.5, 1.5, 2.0, 0, 0, 0, 0, 0])
DISPOSABLE_DOMAINS = np.arange(12, 17)  # codes of the throwaway-mail domains above

CATEGORIES: tuple[str, ...] = (
    "trading_cards", "sneakers", "luxury", "collectibles", "vintage_fashion",
    "electronics", "coins", "comics",
)  # fmt: skip
CATEGORY_WEIGHTS = np.array([30.0, 15.0, 8.0, 15.0, 10.0, 8.0, 7.0, 7.0])
# Typical item price per category (median USD, lognormal sigma): trading cards are cheap
# and many, luxury is rare and expensive.
CATEGORY_PRICE_MEDIAN = np.array([22.0, 140.0, 420.0, 38.0, 45.0, 120.0, 55.0, 18.0])
CATEGORY_PRICE_SIGMA = np.array([1.0, 0.55, 0.75, 0.95, 0.7, 0.85, 0.95, 0.9])
HIGH_VALUE_CATEGORIES = np.array([CATEGORIES.index(c) for c in ("sneakers", "luxury", "electronics")])
