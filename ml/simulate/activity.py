"""Account-side rows of one chunk: account versions, payment methods and logins."""

from __future__ import annotations

import zlib

import numpy as np

from ml.simulate.abuse import ACCOUNT_TAKEOVER, MULTI_ACCOUNTING, PAYMENT_FRAUD
from ml.simulate.encoding import mix64
from ml.simulate.frames import EVENT, VERSION, VISIBLE, Frame, concat, group_offsets, take
from ml.simulate.population import ATTACKER, CARD_SLOTS, CREW, DEVICE_SLOTS, FRESH
from ml.simulate.timing import (
    DAY,
    FAR_FUTURE,
    HOUR,
    MINUTE,
    NULL_TS,
    seasonal_times,
    uniform_between,
)
from ml.simulate.vocab import ATTACKER_COUNTRIES, COUNTRIES
from ml.simulate.world import Chunk, World

US = COUNTRIES.index("US")
# Card classes: an account's own card, a crew's stolen card, a ring's shared card, a card
# an account-taker adds. Type and issuer mix per class (credit, debit, prepaid).
OWN_CARD, STOLEN_CARD, RING_CARD, ATTACKER_CARD = 0, 1, 2, 3
_CARD_TYPE_P = np.array([[0.58, 0.39, 0.03], [0.45, 0.3, 0.25], [0.45, 0.35, 0.2], [0.5, 0.2, 0.3]])
_FOREIGN_P = np.array([0.05, 0.4, 0.1, 0.6])


def chunk_id(chunk: Chunk, seq: np.ndarray) -> np.ndarray:
    """Row ids unique across chunks: the chunk in the high bits, a sequence below."""
    return (np.int64(chunk.index) << 40) | seq.astype(np.int64)


def account_rows(world: World, chunk: Chunk) -> Frame:
    """Version 0 at signup; sellers get version 1 when selling is approved."""
    pop = world.pop
    a = chunk.accounts
    created = pop.created_us[a]
    base: Frame = {
        "account_id": a,
        "created_at": created,
        "country": pop.country[a],
        "email_domain": pop.email_domain[a],
        "phone_verified": pop.phone_verified[a],
        "signup_ip_hash": pop.signup_ip[a],
        "signup_device_id": pop.signup_device[a],
        "is_seller": np.zeros(len(a), bool),
        "seller_approved_at": np.full(len(a), NULL_TS),
        EVENT: created,
        VISIBLE: created,
        VERSION: np.zeros(len(a), np.int8),
    }
    approved = take(base, pop.is_seller[a])
    approved["is_seller"] = np.ones(len(approved["account_id"]), bool)
    approved["seller_approved_at"] = pop.approved_us[approved["account_id"]]
    approved[EVENT] = approved["seller_approved_at"]
    approved[VISIBLE] = approved["seller_approved_at"]
    approved[VERSION] = np.ones(len(approved["account_id"]), np.int8)
    return concat([base, approved])


def _unit(values: np.ndarray, salt: int) -> np.ndarray:
    """A uniform in [0, 1) that is a pure function of `values` (same card => same draw)."""
    return (mix64(values, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def card_traits(
    seed: int,
    fingerprint: np.ndarray,
    card_class: np.ndarray,
    home: np.ndarray,
    foreign_to: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Card type and issuer country, derived from the fingerprint.

    Deriving them from the fingerprint keeps a card shared by several accounts consistent
    across rows and chunks.
    """
    salt = zlib.crc32(f"card-traits:{seed}".encode())
    u_type, u_foreign, u_country = (_unit(fingerprint, salt + i) for i in range(3))
    cum = np.cumsum(_CARD_TYPE_P, axis=1)[card_class]
    card_type = (u_type[:, None] > cum[:, :-1]).sum(axis=1)
    anywhere = (u_country * len(COUNTRIES)).astype(np.int16)
    foreign_country = np.where(foreign_to >= 0, foreign_to, anywhere)
    country = np.where(u_foreign < _FOREIGN_P[card_class], foreign_country, home)
    return card_type.astype(np.int8), country.astype(np.int16)


def payment_method_rows(world: World, chunk: Chunk, rng: np.random.Generator) -> tuple[Frame, np.ndarray]:
    """Cards added by the chunk's accounts, plus a (accounts, CARD_SLOTS) matrix of when
    each card became usable (FAR_FUTURE if never) for choosing cards at checkout."""
    pop, roles, cfg = world.pop, world.roles, world.cfg
    a = chunk.accounts
    n_cards = pop.n_cards[a].astype(np.int64)
    acc = np.repeat(a, n_cards)
    _, k = group_offsets(n_cards)
    last = k == pop.n_cards[acc] - 1
    m = len(acc)
    created = pop.created_us[acc]
    abuse = roles.abuse[acc]

    # Before the account's first purchase, which comes an hour after signup at the earliest.
    first_card = created + uniform_between(rng, np.full(m, 2 * MINUTE), np.full(m, 55 * MINUTE))
    later_card = uniform_between(rng, created + DAY, np.maximum(cfg.end_us, created + DAY + 1))
    added = np.where(k == 0, first_card, later_card)
    fraud = abuse == PAYMENT_FRAUD
    added = np.where(
        fraud & (k > 0),
        created + uniform_between(rng, np.full(m, 5 * MINUTE), np.full(m, 2 * DAY)),
        added,
    )
    ring_card = last & (roles.shared_fp[acc] >= 0)
    quick = ring_card & (abuse == MULTI_ACCOUNTING)
    added = np.where(quick, created + uniform_between(rng, np.full(m, 5 * MINUTE), np.full(m, 10 * HOUR)), added)
    attacker = last & roles.attacker_card[acc]
    taken_over_at = roles.abuse_start_us[acc]
    added = np.where(
        attacker,
        taken_over_at + uniform_between(rng, np.full(m, 10 * MINUTE), np.full(m, 3 * HOUR)),
        added,
    )

    fingerprint = acc * CARD_SLOTS + k
    card_class = np.full(m, OWN_CARD, np.int64)
    crew_card = CREW + roles.crew[acc].astype(np.int64) * 4 + rng.integers(0, 4, m)
    fingerprint = np.where(fraud, crew_card, fingerprint)
    card_class[fraud] = STOLEN_CARD
    fingerprint = np.where(ring_card, roles.shared_fp[acc], fingerprint)
    card_class[quick] = RING_CARD
    fingerprint = np.where(attacker, ATTACKER + acc, fingerprint)
    card_class[attacker] = ATTACKER_CARD
    home = np.where(card_class == STOLEN_CARD, US, pop.country[acc])
    foreign_to = np.where(attacker, roles.attacker_country[acc], -1)
    card_type, card_country = card_traits(cfg.seed, fingerprint, card_class, home, foreign_to)

    frame: Frame = {
        "payment_method_id": acc * CARD_SLOTS + k,
        "account_id": acc,
        "added_at": added,
        "card_fingerprint": fingerprint,
        "card_country": card_country,
        "card_type": card_type,
        EVENT: added,
        VISIBLE: added,
    }
    keep = added < cfg.end_us
    usable = np.full((len(a), CARD_SLOTS), FAR_FUTURE, np.int64)
    usable[acc[keep] - chunk.lo, k[keep]] = added[keep]
    return take(frame, keep), usable


def _fresh(rng: np.random.Generator, n: int) -> np.ndarray:
    """Devices / IPs seen once (new phones, hotel Wi-Fi)."""
    return FRESH + rng.integers(0, 1 << 40, n)


def _shared_pool(rng: np.random.Generator, n: int, pool_size: int) -> np.ndarray:
    """Devices / IPs many unrelated people use: carrier NAT, library PCs, shop kiosks.

    They make "shares a device or IP with another account" a noisy signal, as it is.
    """
    return FRESH + (1 << 41) + rng.integers(0, max(pool_size, 10), n)


def _takeover_logins(world: World, chunk: Chunk, rng: np.random.Generator) -> Frame:
    """Credential stuffing, the hijacking login and the attacker's sessions after it."""
    roles = world.roles
    a = chunk.accounts
    victims = a[(roles.abuse[a] == ACCOUNT_TAKEOVER) & (roles.abuse_start_us[a] < world.cfg.end_us)]
    v = len(victims)
    n_fail = 2 + rng.poisson(5, v)
    n_after = rng.poisson(4, v)
    at = roles.abuse_start_us[victims]

    fail_acc = np.repeat(victims, n_fail)
    fail_t = np.repeat(at, n_fail) - uniform_between(
        rng, np.full(len(fail_acc), 10 * MINUTE), np.full(len(fail_acc), 6 * HOUR)
    )
    after_acc = np.repeat(victims, n_after)
    session_end = np.repeat(at + uniform_between(rng, np.full(v, DAY), np.full(v, 7 * DAY)), n_after)
    after_t = uniform_between(rng, np.repeat(at, n_after), session_end)
    acc = np.concatenate([fail_acc, victims, after_acc])
    t = np.concatenate([fail_t, at, after_t])
    success = np.concatenate([np.zeros(len(fail_acc), bool), np.ones(v, bool), rng.random(len(after_acc)) < 0.95])
    n = len(acc)
    device = np.where(rng.random(n) < 0.85, ATTACKER + acc, _fresh(rng, n))
    ip = np.where(rng.random(n) < 0.6, ATTACKER + acc, _fresh(rng, n))
    return {
        "account_id": acc,
        "occurred_at": t,
        "ip_hash": ip,
        "ip_country": roles.attacker_country[acc],
        "device_id": device,
        "success": success,
    }


def login_rows(world: World, chunk: Chunk, rng: np.random.Generator) -> Frame:
    """Logins: mostly known devices, home networks and the home country; a few failures."""
    pop, roles, cfg = world.pop, world.roles, world.cfg
    a = chunk.accounts
    lo, hi = world.active_lo[a], world.active_hi[a]
    counts = rng.poisson(pop.login_rate[a] * (hi - lo) / DAY)
    acc = np.repeat(a, counts)
    local = acc - chunk.lo
    t = seasonal_times(rng, lo[local], hi[local])
    n = len(acc)
    u = rng.random((7, n))

    own_device = acc * DEVICE_SLOTS + (pop.has_second_device[acc] & (u[0] < 0.25))
    device = np.where(u[0] > 0.95, _fresh(rng, n), own_device)
    habit = _unit(acc, zlib.crc32(f"habits:{cfg.seed}".encode()))  # per account, stable
    public_device = (habit < 0.05) & (u[0] > 0.95)  # 5% of people use library / shop PCs
    device = np.where(public_device, _shared_pool(rng, n, pop.n // 100), device)
    device = np.where(u[1] < roles.alt_device_p[acc], roles.alt_device[acc], device)
    own_ip = acc * DEVICE_SLOTS + (u[2] > 0.6)
    ip = np.where(u[2] > 0.85, _fresh(rng, n), own_ip)
    carrier_nat = (habit > 0.7) & (u[2] > 0.9)  # mobile-heavy users behind carrier NAT
    ip = np.where(carrier_nat, _shared_pool(rng, n, pop.n // 2), ip)
    ip = np.where(u[3] < roles.alt_ip_p[acc], roles.alt_ip[acc], ip)
    country = np.where(u[4] < 0.975, pop.country[acc], rng.integers(0, len(COUNTRIES), n)).astype(np.int16)
    # Fraudsters hide behind proxies: fresh IPs, often abroad.
    fraud = roles.abuse[acc] == PAYMENT_FRAUD
    proxied = fraud & (u[5] < 0.6)
    ip = np.where(proxied, _fresh(rng, n), ip)
    country = np.where(proxied & (u[4] < 0.6), rng.choice(ATTACKER_COUNTRIES, n), country)

    # Travellers: known devices, foreign networks while on a trip.
    trips = roles.trips
    first_trip = np.searchsorted(trips.account, acc)
    n_trips = np.searchsorted(trips.account, acc, side="right") - first_trip
    for j in range(int(n_trips.max(initial=0))):
        i = np.minimum(first_trip + j, len(trips.account) - 1)
        away = (j < n_trips) & (t >= trips.start_us[i]) & (t < trips.end_us[i])
        country = np.where(away, trips.country[i], country)
        ip = np.where(away, _fresh(rng, n), ip)

    frame: Frame = {
        "account_id": acc,
        "occurred_at": t,
        "ip_hash": ip.astype(np.int64),
        "ip_country": country,
        "device_id": device.astype(np.int64),
        "success": u[6] > 0.04,
    }
    frame = concat([frame, _takeover_logins(world, chunk, rng)])
    t = frame["occurred_at"]
    keep = world.is_active(frame["account_id"], t)
    keep &= (t < cfg.end_us) & (t > pop.created_us[frame["account_id"]]) & (t >= cfg.start_us)
    frame = take(frame, keep)
    order = np.argsort(frame["occurred_at"], kind="stable")
    frame = take(frame, order)
    frame["event_id"] = chunk_id(chunk, np.arange(len(order)))
    frame[EVENT] = frame["occurred_at"]
    frame[VISIBLE] = frame["occurred_at"]
    return frame
