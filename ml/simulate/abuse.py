"""Who abuses the marketplace (and who only looks like it).

Five abuse patterns and four false-positive traps are assigned to accounts here, together
with the static traits each leaves behind (shared devices, stolen card pools, rings). The
events they cause are generated with everyone else's in activity.py and commerce.py, so
each signal is partial and mixed with ordinary behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ml.contract import ABUSE_TYPES
from ml.simulate.config import SimulationConfig
from ml.simulate.population import CARD_SLOTS, DEVICE_SLOTS, RING, Population
from ml.simulate.timing import DAY, FAR_FUTURE, HOUR, NULL_TS, lognormal_us, uniform_between
from ml.simulate.vocab import (
    ATTACKER_COUNTRIES,
    DISPOSABLE_DOMAINS,
    HIGH_VALUE_CATEGORIES,
    TRAVEL_COUNTRIES,
)

ABUSE_PATTERNS: tuple[str, ...] = tuple(t for t in ABUSE_TYPES if t != "none")
PAYMENT_FRAUD, ACCOUNT_TAKEOVER, SELLER_SCAM, SHILL_BIDDING, MULTI_ACCOUNTING = (
    ABUSE_PATTERNS.index(p) + 1
    for p in (
        "payment_fraud",
        "account_takeover",
        "seller_scam",
        "shill_bidding",
        "multi_accounting",
    )
)
TRAP_TYPES: tuple[str, ...] = ("traveller", "big_spender", "slow_shipper", "shared_family_device")
TRAVELLER, BIG_SPENDER, SLOW_SHIPPER, SHARED_FAMILY_DEVICE = 1, 2, 3, 4


@dataclass(frozen=True)
class Trips:
    """Trips abroad of traveller accounts, sorted by account."""

    account: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    country: np.ndarray


@dataclass(frozen=True)
class Roles:
    """Per-account abuse / trap roles plus the traits the behaviour generators read."""

    abuse: np.ndarray  # int8: 0 good, else ABUSE_PATTERNS index + 1
    abuse_start_us: np.ndarray  # int64, NULL_TS if good
    ring: np.ndarray  # int32, -1 if not in a ring / crew
    trap: np.ndarray  # int8: 0 none, else TRAP_TYPES index + 1
    natural_end_us: np.ndarray  # int64: abusers abandon accounts; FAR_FUTURE otherwise
    alt_device: np.ndarray  # int64 device someone else also uses, -1 if none
    alt_device_p: np.ndarray  # float32 share of the account's logins from alt_device
    alt_ip: np.ndarray  # int64
    alt_ip_p: np.ndarray  # float32
    shared_fp: np.ndarray  # int64 fingerprint of the account's last card if shared, else -1
    crew: np.ndarray  # int32 stolen-card crew of payment fraudsters, -1 otherwise
    ring_seller: np.ndarray  # int32 shill -> its seller; multi-accounter -> promo seller
    attacker_country: np.ndarray  # int16 country the takeover comes from, -1 otherwise
    attacker_card: np.ndarray  # bool: the attacker added the account's last card
    scam_unshipped: np.ndarray  # float32 share of orders a scam seller never ships
    ring_shill_ptr: np.ndarray  # CSR over ring ids: shills (not the seller) of each ring
    ring_shills: np.ndarray
    trips: Trips


def _pick(rng: np.random.Generator, eligible: np.ndarray, k: int) -> np.ndarray:
    """Up to k distinct eligible accounts, sorted."""
    candidates = np.flatnonzero(eligible)
    return np.sort(rng.choice(candidates, min(k, len(candidates)), replace=False))


def _draw_members(
    rng: np.random.Generator,
    lo: np.ndarray,
    hi: np.ndarray,
    available: np.ndarray,
    rounds: int = 25,
) -> np.ndarray:
    """One distinct available account per slot, uniformly in [lo, hi); -1 if none found.

    Marks chosen accounts unavailable. Because account index = signup order, an index
    window is a signup-time window (ring members sign up together, shills before the ring).
    """
    out = np.full(len(lo), -1, dtype=np.int64)
    pending = np.flatnonzero(hi > lo)
    for _ in range(rounds):
        if len(pending) == 0:
            break
        span = hi[pending] - lo[pending]
        cand = lo[pending] + (rng.random(len(pending)) * span).astype(np.int64)
        ok = available[cand]
        first = np.zeros(len(cand), dtype=bool)
        first[np.unique(cand, return_index=True)[1]] = True  # two slots, one account: first wins
        ok &= first
        out[pending[ok]] = cand[ok]
        available[cand[ok]] = False
        pending = pending[~ok]
    return out


def _ring_sizes(rng: np.random.Generator, n_members: float, low: int, extra: int, p: float) -> np.ndarray:
    """Ring sizes low + Binomial(extra, p) adding up to about n_members."""
    n_rings = max(1, round(n_members / (low + extra * p)))
    return low + rng.binomial(extra, p, n_rings)


def _fixed(n: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds arrays for `uniform_between` with the same window for n rows."""
    return np.full(n, lo, np.int64), np.full(n, hi, np.int64)


@dataclass
class _Draft:
    """Work area of assign_roles: copies of the population's arrays plus the roles so far."""

    cfg: SimulationConfig
    rng: np.random.Generator
    pop: dict[str, np.ndarray]
    free: np.ndarray  # neither abuser nor trap yet
    first_new: int  # index of the first account created inside the period
    next_ring: int = 0

    def __post_init__(self) -> None:
        n = len(self.free)
        self.abuse = np.zeros(n, np.int8)
        self.abuse_start = np.full(n, NULL_TS, np.int64)
        self.ring = np.full(n, -1, np.int32)
        self.trap = np.zeros(n, np.int8)
        self.natural_end = np.full(n, FAR_FUTURE, np.int64)
        self.alt_device = np.full(n, -1, np.int64)
        self.alt_device_p = np.zeros(n, np.float32)
        self.alt_ip = np.full(n, -1, np.int64)
        self.alt_ip_p = np.zeros(n, np.float32)
        self.shared_fp = np.full(n, -1, np.int64)
        self.crew = np.full(n, -1, np.int32)
        self.ring_seller = np.full(n, -1, np.int32)
        self.attacker_country = np.full(n, -1, np.int16)
        self.attacker_card = np.zeros(n, bool)
        self.scam_unshipped = np.zeros(n, np.float32)
        self.disposable = self.rng.choice(DISPOSABLE_DOMAINS, n).astype(np.int16)

    def created_before(self, t: int | np.ndarray) -> np.ndarray:
        """Number of accounts created before t (= index bound: index is signup order)."""
        return np.searchsorted(self.pop["created_us"], t)

    def new_between(self, lo: int, hi: int) -> np.ndarray:
        """Mask of free accounts created in [lo, hi)."""
        mask = np.zeros(len(self.free), bool)
        mask[self.created_before(lo) : self.created_before(hi)] = True
        return mask & self.free

    def claim(self, accounts: np.ndarray) -> None:
        self.free[accounts] = False

    def throwaway_mail(self, accounts: np.ndarray, share: float) -> None:
        email = self.pop["email_domain"]
        hit = self.rng.random(len(accounts)) < share
        email[accounts] = np.where(hit, self.disposable[accounts], email[accounts])


def _seller_scams(d: _Draft) -> None:
    """Brand-new sellers that sell a lot fast, ship little, then vanish."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    eligible = d.new_between(cfg.start_us, cfg.end_us - 35 * DAY) & ~p["is_seller"]
    scam = _pick(rng, eligible, round(len(d.free) * cfg.seller_scam_rate))
    d.claim(scam)
    k = len(scam)
    approved = p["created_us"][scam] + uniform_between(rng, *_fixed(k, 8 * HOUR, 4 * DAY))
    d.abuse[scam] = SELLER_SCAM
    d.abuse_start[scam] = approved
    d.natural_end[scam] = approved + uniform_between(rng, *_fixed(k, 14 * DAY, 50 * DAY))
    d.scam_unshipped[scam] = rng.beta(4, 2, k)  # mostly never ship; some ship a fair share
    p["is_seller"][scam] = True
    p["approved_us"][scam] = approved
    p["seller_popularity"][scam] = np.exp(np.log(5.0) + 0.4 * rng.standard_normal(k))
    p["stream_rate"][scam] = rng.uniform(0.35, 0.9, k)
    high_value = rng.random(k) < 0.75
    p["category"][scam] = np.where(high_value, rng.choice(HIGH_VALUE_CATEGORIES, k), p["category"][scam])
    p["login_rate"][scam] += 0.35
    p["phone_verified"][scam] = rng.random(k) < 0.5
    d.throwaway_mail(scam, 0.15)


def _shill_rings(d: _Draft) -> tuple[np.ndarray, np.ndarray]:
    """An established seller plus accounts that bid up its lots.

    Returns the rings' shills as CSR (pointer per ring id, shill accounts).
    """
    cfg, rng, p = d.cfg, d.rng, d.pop
    end = cfg.end_us
    sizes = _ring_sizes(rng, len(d.free) * cfg.shill_bidding_rate, 3, 3, 0.5)  # incl. seller
    established = (p["approved_us"] < end - 75 * DAY) & (p["seller_popularity"] > 0.3)
    sellers = rng.permutation(_pick(rng, d.free & p["is_seller"] & established, len(sizes)))
    sizes = sizes[: len(sellers)]
    n_rings = len(sellers)
    ring_ids = d.next_ring + np.arange(n_rings)
    d.next_ring += n_rings
    d.claim(sellers)
    lo = np.maximum(cfg.start_us + 3 * DAY, p["approved_us"][sellers] + 7 * DAY)
    ring_start = uniform_between(rng, lo, np.full(n_rings, end - 60 * DAY))
    d.abuse[sellers] = SHILL_BIDDING
    d.abuse_start[sellers] = ring_start
    d.ring[sellers] = ring_ids

    # Shills: existing non-seller accounts, signed up before the ring starts.
    slot_ring = np.repeat(np.arange(n_rings), sizes - 1)
    upper = d.created_before(ring_start[slot_ring] - 2 * DAY)
    lower = np.zeros(len(slot_ring), np.int64)
    shills = _draw_members(rng, lower, upper, d.free & ~p["is_seller"])
    slot_ring, shills = slot_ring[shills >= 0], shills[shills >= 0]
    d.claim(shills)
    seller = sellers[slot_ring]
    d.abuse[shills] = SHILL_BIDDING
    d.abuse_start[shills] = ring_start[slot_ring] + lognormal_us(rng, len(shills), 6 * HOUR, 1.0)
    d.ring[shills] = ring_ids[slot_ring]
    d.ring_seller[shills] = seller
    # Shills run from the seller's phone / home network part of the time.
    d.alt_device[shills], d.alt_device_p[shills] = seller * DEVICE_SLOTS, 0.35
    d.alt_ip[shills], d.alt_ip_p[shills] = seller * DEVICE_SLOTS, 0.3
    order = np.argsort(ring_ids[slot_ring], kind="stable")
    pointer = np.searchsorted(ring_ids[slot_ring][order], np.arange(n_rings + 1))
    return pointer, shills[order]


def _takeovers(d: _Draft) -> None:
    """Aged, active accounts hijacked mid-period."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    aged = np.zeros(len(d.free), bool)
    aged[: d.created_before(cfg.start_us - 90 * DAY)] = True
    eligible = d.free & aged & (p["engagement"] > 0.5) & ~p["is_seller"]
    victims = _pick(rng, eligible, round(len(d.free) * cfg.account_takeover_rate))
    d.claim(victims)
    k = len(victims)
    d.abuse[victims] = ACCOUNT_TAKEOVER
    d.abuse_start[victims] = uniform_between(rng, *_fixed(k, cfg.start_us + 14 * DAY, cfg.end_us - 5 * DAY))
    # Most attacks come from abroad; some use a VPN exit in the victim's country.
    abroad = rng.random(k) < 0.7
    d.attacker_country[victims] = np.where(abroad, rng.choice(ATTACKER_COUNTRIES, k), p["country"][victims])
    d.attacker_card[victims] = rng.random(k) < 0.4
    p["n_cards"][victims] += d.attacker_card[victims]


def _payment_fraud(d: _Draft) -> None:
    """Fresh accounts cashing out stolen cards, in small crews that share the cards."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    eligible = d.new_between(cfg.start_us, cfg.end_us - 10 * DAY) & ~p["is_seller"]
    fraud = rng.permutation(_pick(rng, eligible, round(len(d.free) * cfg.payment_fraud_rate)))
    d.claim(fraud)
    k = len(fraud)
    d.abuse[fraud] = PAYMENT_FRAUD
    first_use = np.clip(lognormal_us(rng, k, 6 * HOUR, 1.0), 10 * 60 * 10**6, 3 * DAY)
    d.abuse_start[fraud] = p["created_us"][fraud] + first_use
    d.natural_end[fraud] = d.abuse_start[fraud] + uniform_between(rng, *_fixed(k, 6 * DAY, 40 * DAY))
    crew_sizes = 1 + rng.binomial(3, 0.5, k)  # more crews than needed; cut at k members
    crew_of = np.repeat(np.arange(k), crew_sizes)[:k]
    d.crew[fraud] = crew_of
    in_crew = np.bincount(crew_of, minlength=k)[crew_of] >= 2  # lone fraudsters get no ring id
    d.ring[fraud[in_crew]] = d.next_ring + crew_of[in_crew]
    d.next_ring += k
    p["n_cards"][fraud] = 2 + rng.binomial(2, 0.5, k)
    p["phone_verified"][fraud] = rng.random(k) < 0.35
    p["engagement"][fraud] = np.exp(0.5 * rng.standard_normal(k))
    p["login_rate"][fraud] = np.maximum(p["login_rate"][fraud], 0.8)  # busy while it lasts
    d.throwaway_mail(fraud, 0.3)


def _multi_accounting(d: _Draft) -> None:
    """Bursts of signups by one person sharing devices, cards and addresses."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    n = len(d.free)
    sizes = _ring_sizes(rng, n * cfg.multi_accounting_rate, 4, 8, 0.4)
    last_anchor = max(int(d.created_before(cfg.end_us - 20 * DAY)), d.first_new + 1)
    anchors = rng.integers(d.first_new, last_anchor, len(sizes))
    slot_ring = np.repeat(np.arange(len(sizes)), sizes)
    lo = anchors[slot_ring]
    hi = np.minimum(lo + 3 * sizes[slot_ring], n)  # signed up around the same time
    members = _draw_members(rng, lo, hi, d.new_between(cfg.start_us, cfg.end_us) & ~p["is_seller"])
    slot_ring, members = slot_ring[members >= 0], members[members >= 0]
    d.claim(members)
    m = len(members)
    ring_key = RING + d.next_ring + slot_ring
    created = p["created_us"][members]
    d.abuse[members] = MULTI_ACCOUNTING
    d.abuse_start[members] = created
    d.ring[members] = d.next_ring + slot_ring
    d.natural_end[members] = created + uniform_between(rng, *_fixed(m, 4 * DAY, 30 * DAY))
    shares = rng.random((3, m))
    p["signup_device"][members] = np.where(shares[0] < 0.7, ring_key, p["signup_device"][members])
    p["home_address"][members] = np.where(shares[1] < 0.7, ring_key, p["home_address"][members])
    has_ring_card = shares[2] < 0.6
    d.shared_fp[members] = np.where(has_ring_card, ring_key, -1)
    p["n_cards"][members] = 1 + has_ring_card
    d.alt_device[members], d.alt_device_p[members] = ring_key, 0.6
    d.alt_ip[members], d.alt_ip_p[members] = ring_key, 0.5
    # One person behind the ring: one country (also keeps the shared card's issuer consistent).
    p["country"][members] = p["country"][anchors[slot_ring]]
    p["phone_verified"][members] = rng.random(m) < 0.4
    p["login_rate"][members] = np.maximum(p["login_rate"][members], 0.5)
    d.throwaway_mail(members, 0.3)
    # Half the rings milk one seller's new-buyer promotions.
    honest_sellers = np.flatnonzero(p["is_seller"] & (d.abuse == 0))
    promo_seller = np.where(rng.random(len(sizes)) < 0.5, rng.choice(honest_sellers, len(sizes)), -1)
    d.ring_seller[members] = promo_seller[slot_ring]
    d.next_ring += len(sizes)


def _travellers(d: _Draft) -> Trips:
    """Trap: aged accounts logging in from abroad on their usual devices."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    eligible = d.free.copy()
    eligible[d.first_new :] = False
    travellers = _pick(rng, eligible, round(len(d.free) * cfg.traveller_rate))
    d.claim(travellers)
    d.trap[travellers] = TRAVELLER
    account = np.repeat(travellers, 1 + rng.binomial(2, 0.35, len(travellers)))
    t = len(account)
    start = uniform_between(rng, *_fixed(t, cfg.start_us, cfg.end_us - 5 * DAY))
    end = start + uniform_between(rng, *_fixed(t, 4 * DAY, 14 * DAY))
    pos = rng.integers(0, len(TRAVEL_COUNTRIES), t)
    country = TRAVEL_COUNTRIES[pos]
    next_country = TRAVEL_COUNTRIES[(pos + 1) % len(TRAVEL_COUNTRIES)]
    country = np.where(country == p["country"][account], next_country, country)  # go abroad
    return Trips(account, start, end, country.astype(np.int16))


def _big_spenders(d: _Draft) -> None:
    """Trap: aged, consistent buyers with expensive taste."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    eligible = d.free & ~p["is_seller"]
    eligible[d.created_before(cfg.start_us - 365 * DAY) :] = False
    big = _pick(rng, eligible, round(len(d.free) * cfg.big_spender_rate))
    d.claim(big)
    d.trap[big] = BIG_SPENDER
    p["engagement"][big] = np.maximum(p["engagement"][big], 1.0) * 3.0
    p["spend_scale"][big] *= 4.0
    p["phone_verified"][big] = True
    throwaway = np.isin(p["email_domain"][big], DISPOSABLE_DOMAINS)
    p["email_domain"][big] = np.where(throwaway, 0, p["email_domain"][big])


def _slow_shippers(d: _Draft) -> None:
    """Trap: new sellers who ship late, but do ship."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    approved = p["approved_us"]
    new_seller = (approved >= cfg.start_us - 30 * DAY) & (approved < cfg.end_us - 45 * DAY)
    slow = _pick(rng, d.free & p["is_seller"] & new_seller, round(len(d.free) * cfg.slow_shipper_rate))
    d.claim(slow)
    d.trap[slow] = SLOW_SHIPPER
    p["ship_delay_days"][slow] = rng.uniform(5.0, 11.0, len(slow))


def _families(d: _Draft) -> None:
    """Trap: 2-4 aged good accounts on one tablet, one address, sometimes one card."""
    cfg, rng, p = d.cfg, d.rng, d.pop
    sizes = _ring_sizes(rng, len(d.free) * cfg.shared_family_device_rate, 2, 2, 0.4)
    aged = d.free.copy()
    aged[d.first_new :] = False
    heads = _pick(rng, aged, len(sizes))
    d.claim(heads)
    slot = np.repeat(np.arange(len(heads)), sizes[: len(heads)] - 1)
    aged[heads] = False
    kin = _draw_members(rng, np.zeros(len(slot), np.int64), np.full(len(slot), d.first_new), aged)
    slot, kin = slot[kin >= 0], kin[kin >= 0]
    d.claim(kin)
    head = heads[slot]
    d.trap[heads] = SHARED_FAMILY_DEVICE
    d.trap[kin] = SHARED_FAMILY_DEVICE
    shares = rng.random((3, len(kin)))
    d.alt_device[kin], d.alt_device_p[kin] = head * DEVICE_SLOTS, 0.5
    d.alt_ip[kin], d.alt_ip_p[kin] = head * DEVICE_SLOTS, 0.6
    p["home_address"][kin] = np.where(shares[0] < 0.85, p["home_address"][head], p["home_address"][kin])
    p["country"][kin] = p["country"][head]
    p["signup_device"][kin] = np.where(shares[1] < 0.4, head * DEVICE_SLOTS, p["signup_device"][kin])
    shared_card = shares[2] < 0.3  # the head's first card
    d.shared_fp[kin] = np.where(shared_card, head * CARD_SLOTS, -1)
    p["n_cards"][kin] += shared_card


def assign_roles(cfg: SimulationConfig, pop: Population, rng: np.random.Generator) -> tuple[Population, Roles]:
    """Assign abuse patterns and traps; returns the population adjusted for their traits.

    Order matters only for who is still free: each account gets at most one role.
    """
    arrays = {name: getattr(pop, name).copy() for name in pop.__dataclass_fields__}
    first_new = int(np.searchsorted(pop.created_us, cfg.start_us))
    d = _Draft(cfg, rng, arrays, np.ones(pop.n, bool), first_new)
    _seller_scams(d)
    ring_shill_ptr, ring_shills = _shill_rings(d)
    _takeovers(d)
    _payment_fraud(d)
    _multi_accounting(d)
    trips = _travellers(d)
    _big_spenders(d)
    _slow_shippers(d)
    _families(d)
    arrays["n_cards"] = np.minimum(arrays["n_cards"], CARD_SLOTS)
    roles = Roles(
        abuse=d.abuse,
        abuse_start_us=d.abuse_start,
        ring=d.ring,
        trap=d.trap,
        natural_end_us=d.natural_end,
        alt_device=d.alt_device,
        alt_device_p=d.alt_device_p,
        alt_ip=d.alt_ip,
        alt_ip_p=d.alt_ip_p,
        shared_fp=d.shared_fp,
        crew=d.crew,
        ring_seller=d.ring_seller,
        attacker_country=d.attacker_country,
        attacker_card=d.attacker_card,
        scam_unshipped=d.scam_unshipped,
        ring_shill_ptr=ring_shill_ptr,
        ring_shills=ring_shills,
        trips=trips,
    )
    return replace(pop, **arrays), roles
