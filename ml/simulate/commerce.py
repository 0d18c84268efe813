"""Marketplace rows of one chunk: bids, orders and their life, refunds, chargebacks, reports.

Buyers of the chunk bid on lots of the global show schedule (each chunk gets its share of
each show's lots, so the union over chunks is one market) and buy at fixed price. Abuse
patterns add their own orders and change what happens after checkout.
"""

from __future__ import annotations

import numpy as np

from ml.contract import CHARGEBACK_REASONS, ORDER_STATUSES, REFUND_REASONS, REPORT_REASONS
from ml.simulate.abuse import (
    ACCOUNT_TAKEOVER,
    MULTI_ACCOUNTING,
    PAYMENT_FRAUD,
    SELLER_SCAM,
    SHILL_BIDDING,
    SLOW_SHIPPER,
)
from ml.simulate.activity import chunk_id
from ml.simulate.frames import (
    EVENT,
    NULL_ID,
    VERSION,
    VISIBLE,
    Frame,
    concat,
    last_in_group,
    take,
)
from ml.simulate.population import ATTACKER, CARD_SLOTS, SECOND_ADDRESS
from ml.simulate.timing import (
    DAY,
    HOUR,
    MINUTE,
    NULL_TS,
    SECOND,
    lognormal_us,
    seasonal_times,
    uniform_between,
    week_index,
    week_overlap_days,
)
from ml.simulate.vocab import CATEGORY_PRICE_MEDIAN, CATEGORY_PRICE_SIGMA, CATEGORY_WEIGHTS
from ml.simulate.world import Chunk, World, draw_by_week

PLACED, SHIPPED, DELIVERED, CANCELLED = (
    ORDER_STATUSES.index(s) for s in ("placed", "shipped", "delivered", "cancelled")
)
# Internal order kinds: what drove the purchase.
NORMAL, FRAUD_BURST, TAKEOVER_SPREE, PROMO, SHILL_WIN = range(5)
_CANCEL_P = np.array([0.025, 0.12, 0.05, 0.06, 0.7])  # shills rarely pay for lots they "win"
BUY_NOW_RATE = 0.0045  # fixed-price orders per active day per unit of engagement
PROMPT = "__prompt"  # rows the loader must deliver promptly (see loader.stamp_loaded)


def _uniform(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return uniform_between(rng, np.full(n, int(lo), np.int64), np.full(n, int(hi), np.int64))


def price_cents(rng: np.random.Generator, category: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Heavy-tailed item prices by category, in cents ($1 to $50k)."""
    dollars = CATEGORY_PRICE_MEDIAN[category] * np.exp(
        CATEGORY_PRICE_SIGMA[category] * rng.standard_normal(len(category))
    )
    return np.clip(np.round(dollars * scale * 100), 100, 5_000_000).astype(np.int64)


def _lognormal_cents(rng: np.random.Generator, n: int, median_dollars: float, sigma: float) -> np.ndarray:
    dollars = median_dollars * np.exp(sigma * rng.standard_normal(n))
    return np.clip(np.round(dollars * 100), 100, 5_000_000).astype(np.int64)


def _round_bid(cents: np.ndarray) -> np.ndarray:
    """People bid whole dollars above $20."""
    return np.where(cents > 2000, np.round(cents / 100) * 100, cents).astype(np.int64)


def auction_rows(world: World, chunk: Chunk, rng: np.random.Generator) -> tuple[Frame, Frame, Frame]:
    """Lots of the chunk's share of every show, their bids (shills included) and winners.

    Returns (bids, order drafts of won lots, shill-bidding report drafts).
    """
    pop, roles, streams, edges = world.pop, world.roles, world.streams, world.edges
    a = chunk.accounts
    week_of_stream = week_index(streams.started_us, edges)
    n_lots = rng.poisson(streams.lots_mean * world.chunk_share[chunk.index, week_of_stream])
    lot_stream = np.repeat(np.arange(streams.n, dtype=np.int64), n_lots)
    n = len(lot_stream)
    seller = streams.seller[lot_stream]
    duration = streams.ended_us[lot_stream] - streams.started_us[lot_stream]
    lot_start = streams.started_us[lot_stream] + (rng.random(n) * np.maximum(duration - 3 * MINUTE, MINUTE)).astype(
        np.int64
    )
    window = _uniform(rng, n, 40 * SECOND, 150 * SECOND)
    hammer = price_cents(rng, streams.category[lot_stream], 1.0)
    opening = np.maximum(hammer * rng.uniform(0.15, 0.6, n), 100)

    # Bidders: the chunk's accounts, by engagement, among those active that week.
    attention = week_overlap_days(world.active_lo[a], world.active_hi[a], edges) * pop.engagement[a][None, :]
    cdf = np.cumsum(attention, axis=1, dtype=np.float64)
    n_bids = 1 + rng.poisson(streams.bids_mean[lot_stream])
    bid_lot = np.repeat(np.arange(n, dtype=np.int64), n_bids)
    local = draw_by_week(rng, week_of_stream[lot_stream[bid_lot]], cdf)
    bidder = np.where(local >= 0, a[np.maximum(local, 0)], NULL_ID)
    # Times and amounts both rise within a lot; the last bid is the hammer price.
    u = rng.random(len(bid_lot))
    t_frac = u[np.lexsort((u, bid_lot))]
    v = rng.random(len(bid_lot))
    v_frac = v[np.lexsort((v, bid_lot))]
    v_frac[last_in_group(bid_lot)] = 1.0
    bid_t = lot_start[bid_lot] + (t_frac * window[bid_lot]).astype(np.int64)
    amount = _round_bid(opening[bid_lot] + (hammer - opening)[bid_lot] * v_frac)
    ok = (bidder >= 0) & (bidder != seller[bid_lot])
    ok[ok] = world.is_active(bidder[ok], bid_t[ok])
    bids: Frame = {
        "lot": bid_lot[ok],
        "bidder_id": bidder[ok],
        "occurred_at": bid_t[ok],
        "amount_usd": amount[ok],
    }
    winner_row = last_in_group(bids["lot"])
    won_lot = bids["lot"][winner_row]
    win_bidder = bids["bidder_id"][winner_row]
    win_t = bids["occurred_at"][winner_row]
    win_amount = bids["amount_usd"][winner_row]

    # Shill bidding: ring members bid the ring seller's lots up, now and then "winning" one.
    won_seller = seller[won_lot]
    ring = roles.ring[won_seller]
    rigged = (
        (roles.abuse[won_seller] == SHILL_BIDDING)
        & (lot_start[won_lot] >= roles.abuse_start_us[won_seller])
        & (rng.random(len(won_lot)) < 0.6)
    )
    ptr = roles.ring_shill_ptr
    ring_size = np.where(rigged, ptr[np.minimum(ring + 1, len(ptr) - 1)] - ptr[np.clip(ring, 0, len(ptr) - 1)], 0)
    rigged &= ring_size > 0
    rig = np.flatnonzero(rigged)
    n_shill = 1 + rng.binomial(3, 0.3, len(rig))
    s_lot = np.repeat(rig, n_shill)
    pick = ptr[ring[s_lot]] + (rng.random(len(s_lot)) * ring_size[s_lot]).astype(np.int64)
    shill = roles.ring_shills[pick]
    # On the ladder between opening and hammer: higher bids come later, like the real ones.
    step = rng.uniform(0.3, 0.97, len(s_lot))
    s_start, s_open = lot_start[won_lot[s_lot]], opening[won_lot[s_lot]]
    s_t = s_start + (step * (win_t[s_lot] - s_start)).astype(np.int64)
    s_amount = _round_bid(s_open + step * (win_amount[s_lot] - s_open))
    # A shill overbids at the very end on a few lots and becomes the winner.
    overbid = rig[rng.random(len(rig)) < 0.06]
    o_pick = ptr[ring[overbid]] + (rng.random(len(overbid)) * ring_size[overbid]).astype(np.int64)
    o_shill = roles.ring_shills[o_pick]
    o_t = win_t[overbid] + _uniform(rng, len(overbid), SECOND, 8 * SECOND)
    o_amount = _round_bid(win_amount[overbid] * rng.uniform(1.03, 1.08, len(overbid)) + 100)
    shill_bids: Frame = {
        "lot": np.concatenate([won_lot[s_lot], won_lot[overbid]]),
        "bidder_id": np.concatenate([shill, o_shill]),
        "occurred_at": np.concatenate([s_t, o_t]),
        "amount_usd": np.concatenate([s_amount, o_amount]),
    }
    s_ok = world.is_active(shill_bids["bidder_id"], shill_bids["occurred_at"])
    shill_bids = take(shill_bids, s_ok)
    overbid_ok = s_ok[len(s_lot) :]
    overbid, o_shill, o_t, o_amount = (x[overbid_ok] for x in (overbid, o_shill, o_t, o_amount))
    win_bidder[overbid], win_t[overbid], win_amount[overbid] = o_shill, o_t, o_amount
    kind = np.full(len(won_lot), NORMAL, np.int8)
    kind[overbid] = SHILL_WIN

    lot_ids = chunk_id(chunk, np.arange(n))
    all_bids = concat([bids, shill_bids])
    order = np.argsort(all_bids["occurred_at"], kind="stable")
    all_bids = take(all_bids, order)
    lot = all_bids.pop("lot")
    all_bids["bid_id"] = chunk_id(chunk, np.arange(len(lot)))
    all_bids["stream_id"] = lot_stream[lot]
    all_bids["listing_id"] = lot_ids[lot]
    all_bids[EVENT] = all_bids["occurred_at"]
    all_bids[VISIBLE] = all_bids["occurred_at"]

    drafts: Frame = {
        "buyer_id": win_bidder,
        "seller_id": won_seller,
        "stream_id": lot_stream[won_lot],
        "listing_id": lot_ids[won_lot],
        "created_at": win_t + _uniform(rng, len(won_lot), 5 * SECOND, 90 * SECOND),
        "amount_usd": win_amount,
        "kind": kind,
    }
    # A legit winner now and then reports the seller (or a shill) for shill bidding.
    noticed = rig[(rng.random(len(rig)) < 0.05) & (kind[rig] == NORMAL)]
    accuse_shill = rng.random(len(noticed)) < 0.3
    accused_pick = ptr[ring[noticed]] + (rng.random(len(noticed)) * ring_size[noticed]).astype(np.int64)
    reports: Frame = {
        "reporter_id": win_bidder[noticed],
        "reported_id": np.where(accuse_shill, roles.ring_shills[accused_pick], won_seller[noticed]),
        "occurred_at": win_t[noticed] + _uniform(rng, len(noticed), 10 * MINUTE, 2 * DAY),
        "reason": np.full(len(noticed), REPORT_REASONS.index("shill_bidding"), np.int8),
    }
    return all_bids, drafts, reports


def _pick_seller(world: World, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A seller per purchase, by that week's buyer attention; -1 if nobody sells."""
    col = draw_by_week(rng, week_index(t, world.edges), world.seller_cdf)
    return np.where(col >= 0, world.sellers[np.maximum(col, 0)], NULL_ID)


def _purchases(
    world: World,
    rng: np.random.Generator,
    buyer: np.ndarray,
    t: np.ndarray,
    kind: int,
    amount: np.ndarray | None = None,
    seller: np.ndarray | None = None,
) -> Frame:
    """Fixed-price order drafts; drops those whose buyer or seller cannot act then."""
    n = len(buyer)
    chosen = _pick_seller(world, rng, t)
    if seller is not None:
        chosen = np.where(seller >= 0, seller, chosen)
    if amount is None:
        category = np.where(
            rng.random(n) < 0.85,
            world.pop.category[np.maximum(chosen, 0)],
            rng.choice(len(CATEGORY_WEIGHTS), n, p=CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum()),
        )
        amount = price_cents(rng, category, world.pop.spend_scale[buyer])
    ok = (chosen >= 0) & (chosen != buyer)
    ok[ok] = world.is_active(buyer[ok], t[ok]) & world.is_selling(chosen[ok], t[ok])
    return take(
        {
            "buyer_id": buyer,
            "seller_id": chosen,
            "stream_id": np.full(n, NULL_ID, np.int64),
            "listing_id": np.full(n, NULL_ID, np.int64),
            "created_at": t,
            "amount_usd": amount,
            "kind": np.full(n, kind, np.int8),
        },
        ok,
    )


def _window_events(
    rng: np.random.Generator,
    accounts: np.ndarray,
    counts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """`counts[i]` seasonal timestamps in [lo[i], hi[i]) for each account i."""
    rows = np.repeat(np.arange(len(accounts)), counts)
    return accounts[rows], seasonal_times(rng, lo[rows], np.maximum(hi[rows], lo[rows] + 1))


def purchase_drafts(world: World, chunk: Chunk, rng: np.random.Generator) -> Frame:
    """Fixed-price orders: everyone's habits plus fraud bursts, takeover sprees, promos."""
    pop, roles, cfg = world.pop, world.roles, world.cfg
    a = chunk.accounts
    lo, hi = world.active_lo[a], world.active_hi[a]
    counts = rng.poisson(BUY_NOW_RATE * pop.engagement[a] * (hi - lo) / DAY)
    buyer, t = _window_events(rng, a, counts, lo, hi)
    parts = [_purchases(world, rng, buyer, t, NORMAL)]

    fraud = a[roles.abuse[a] == PAYMENT_FRAUD]
    start = roles.abuse_start_us[fraud]
    buyer, t = _window_events(
        rng,
        fraud,
        2 + rng.poisson(4, len(fraud)),
        start,
        start + _uniform(rng, len(fraud), DAY, 8 * DAY),
    )
    parts.append(_purchases(world, rng, buyer, t, FRAUD_BURST, _lognormal_cents(rng, len(buyer), 260, 0.7)))

    victims = a[(roles.abuse[a] == ACCOUNT_TAKEOVER) & (roles.abuse_start_us[a] < cfg.end_us)]
    start = roles.abuse_start_us[victims] + 30 * MINUTE
    buyer, t = _window_events(
        rng,
        victims,
        2 + rng.poisson(3, len(victims)),
        start,
        start + _uniform(rng, len(victims), DAY // 2, 5 * DAY),
    )
    parts.append(_purchases(world, rng, buyer, t, TAKEOVER_SPREE, _lognormal_cents(rng, len(buyer), 380, 0.6)))

    members = a[roles.abuse[a] == MULTI_ACCOUNTING]
    start = pop.created_us[members] + HOUR
    buyer, t = _window_events(rng, members, 1 + rng.binomial(2, 0.4, len(members)), start, start + 5 * DAY)
    promo_seller = np.where(rng.random(len(buyer)) < 0.7, roles.ring_seller[buyer].astype(np.int64), NULL_ID)
    parts.append(_purchases(world, rng, buyer, t, PROMO, _lognormal_cents(rng, len(buyer), 12, 0.5), promo_seller))
    return concat(parts)


def _choose_cards(
    world: World, chunk: Chunk, rng: np.random.Generator, orders: Frame, usable: np.ndarray
) -> np.ndarray:
    """Payment method per order: a card the buyer had by then, mostly the first one."""
    buyer, created, kind = orders["buyer_id"], orders["created_at"], orders["kind"]
    n = len(buyer)
    in_chunk = (buyer >= chunk.lo) & (buyer < chunk.hi)
    rows = usable[np.clip(buyer - chunk.lo, 0, len(usable) - 1)]
    valid = (rows <= created[:, None]) & in_chunk[:, None]
    n_valid = valid.sum(axis=1)
    nth = (rng.random(n) * n_valid).astype(np.int64)
    k = np.argmax(np.cumsum(valid, axis=1) > nth[:, None], axis=1)
    # Habit: the first card, except for fraudsters cycling through stolen ones.
    k = np.where((rng.random(n) < 0.6) & valid[:, 0] & (kind != FRAUD_BURST), 0, k)
    last = world.pop.n_cards[buyer].astype(np.int64) - 1
    attacker_card = (kind == TAKEOVER_SPREE) & world.roles.attacker_card[buyer]
    use_attacker = attacker_card & valid[np.arange(n), np.clip(last, 0, CARD_SLOTS - 1)] & (rng.random(n) < 0.8)
    k = np.where(use_attacker, last, k)
    k = np.where(n_valid == 0, 0, k)  # cross-chunk shill winners: their first card
    return buyer * CARD_SLOTS + k


def order_rows(
    world: World, chunk: Chunk, rng: np.random.Generator, drafts: Frame, usable: np.ndarray
) -> tuple[Frame, Frame]:
    """Orders with one row version per status change, and a per-order fact sheet.

    The fact sheet (one row per order: times of shipment, delivery, cancellation and flags)
    drives refunds, chargebacks and reports.
    """
    pop, roles, cfg = world.pop, world.roles, world.cfg
    n = len(drafts["buyer_id"])
    order_seq = np.arange(n)
    order_id = chunk_id(chunk, order_seq)
    buy_now = drafts["listing_id"] < 0
    listing = np.where(buy_now, chunk_id(chunk, (1 << 39) + order_seq), drafts["listing_id"])
    buyer, seller, created, kind = (
        drafts["buyer_id"],
        drafts["seller_id"],
        drafts["created_at"],
        drafts["kind"],
    )
    u = rng.random((6, n))
    address = np.where(u[0] < 0.95, pop.home_address[buyer], SECOND_ADDRESS + buyer)
    address = np.where((kind == TAKEOVER_SPREE) & (u[1] < 0.85), ATTACKER + buyer, address)
    payment = _choose_cards(world, chunk, rng, drafts, usable)

    # Fulfilment: sellers ship after their usual delay; scammers mostly never ship.
    cancelled = u[2] < _CANCEL_P[kind]
    cancel_t = created + _uniform(rng, n, 30 * MINUTE, 2 * DAY)
    ship_t = created + np.maximum(lognormal_us(rng, n, pop.ship_delay_days[seller] * DAY, 0.5), 2 * HOUR)
    scam = (roles.abuse[seller] == SELLER_SCAM) & (created >= roles.abuse_start_us[seller])
    never = scam & (u[3] < roles.scam_unshipped[seller])
    forgotten = u[5] < 0.004  # honest sellers lose track of an order now and then
    stuck = ~cancelled & (never | forgotten | ~world.is_active(seller, ship_t))
    shipped = ~cancelled & ~stuck
    lost = shipped & (u[4] < np.where(scam, 0.2, 0.005))
    deliver_t = ship_t + np.clip(lognormal_us(rng, n, 3 * DAY, 0.35), DAY, 14 * DAY)
    delivered = shipped & ~lost

    end = cfg.end_us
    base: Frame = {
        "order_id": order_id,
        "buyer_id": buyer,
        "seller_id": seller,
        "stream_id": drafts["stream_id"],
        "listing_id": listing,
        "created_at": created,
        "amount_usd": drafts["amount_usd"],
        "payment_method_id": payment,
        "shipping_address_hash": address,
        "status": np.full(n, PLACED, np.int8),
        "shipped_at": np.full(n, NULL_TS),
        "delivered_at": np.full(n, NULL_TS),
        EVENT: created,
        VISIBLE: created,
        VERSION: np.zeros(n, np.int8),
        PROMPT: cancelled,  # the cancel version carries no new timestamp to bound its delay
    }
    versions = [base]
    for mask, status, at, version in (
        (cancelled & (cancel_t < end), CANCELLED, cancel_t, 1),
        (shipped & (ship_t < end), SHIPPED, ship_t, 1),
        (delivered & (deliver_t < end), DELIVERED, deliver_t, 2),
    ):
        v = take(base, mask)
        v["status"] = np.full(int(mask.sum()), status, np.int8)
        if status != CANCELLED:
            v["shipped_at"] = ship_t[mask]
            v[VISIBLE] = at[mask]
        if status == DELIVERED:
            v["delivered_at"] = deliver_t[mask]
        v[EVENT] = at[mask]
        v[VERSION] = np.full(int(mask.sum()), version, np.int8)
        v[PROMPT] = np.zeros(int(mask.sum()), bool)
        versions.append(v)
    facts: Frame = {
        "order_id": order_id,
        "buyer_id": buyer,
        "seller_id": seller,
        "created_at": created,
        "amount_usd": drafts["amount_usd"],
        "kind": kind,
        "cancel_t": np.where(cancelled, cancel_t, NULL_TS),
        "deliver_t": np.where(delivered, deliver_t, NULL_TS),
        "stuck": stuck,
        "scam": scam,
        "slow_seller": roles.trap[seller] == SLOW_SHIPPER,
    }
    return concat(versions), facts


def _partial(rng: np.random.Generator, cents: np.ndarray, p_full: float) -> np.ndarray:
    share = np.where(rng.random(len(cents)) < p_full, 1.0, rng.uniform(0.2, 0.8, len(cents)))
    return np.maximum(np.round(cents * share), 1).astype(np.int64)


def refund_rows(cfg_end: int, chunk: Chunk, rng: np.random.Generator, facts: Frame) -> tuple[Frame, np.ndarray]:
    """Refunds of the chunk's orders; also returns which orders were refunded."""
    n = len(facts["order_id"])
    created, amount = facts["created_at"], facts["amount_usd"]
    delivered = facts["deliver_t"] != NULL_TS
    cancelled = facts["cancel_t"] != NULL_TS
    u = rng.random((5, n))
    reason_idx = {r: REFUND_REASONS.index(r) for r in REFUND_REASONS}
    after_delivery = facts["deliver_t"] + np.clip(lognormal_us(rng, n, 3 * DAY, 0.8), 2 * HOUR, 14 * DAY)
    background = rng.choice(len(REFUND_REASONS), n, p=[0.08, 0.42, 0.35, 0.15])
    fake_goods = facts["scam"] & delivered & (u[1] < 0.3)
    not_received = np.full(n, reason_idx["not_received"])
    # Ordinary returns and disputes after delivery; scam goods are often not as described.
    returned = delivered & ((u[0] < 0.035) | fake_goods)
    returned_reason = np.where(fake_goods, reason_idx["not_as_described"], background)
    # Cancelled orders are refunded (payment was captured at checkout).
    voided = cancelled & (u[2] < 0.6)
    voided_at = facts["cancel_t"] + _uniform(rng, n, HOUR, 2 * DAY)
    voided_reason = np.where(u[4] < 0.4, reason_idx["buyer_remorse"], reason_idx["other"])
    # Nothing arrived: the buyer asks for the money back.
    missing = facts["stuck"] & (u[3] < 0.45)
    missing_at = created + _uniform(rng, n, 10 * DAY, 30 * DAY)
    # Impatient buyers of slow (honest) shippers.
    impatient = facts["slow_seller"] & ~cancelled & (u[3] < 0.07)
    impatient_at = created + _uniform(rng, n, 5 * DAY, 9 * DAY)
    parts = [
        (returned, after_delivery, returned_reason, _partial(rng, amount, 0.7)),
        (voided, voided_at, voided_reason, amount),
        (missing, missing_at, not_received, amount),
        (impatient, impatient_at, not_received, amount),
    ]
    frames = []
    refunded = np.zeros(n, bool)
    for mask, at, reason, cents in parts:
        mask = mask & (at < cfg_end) & ~refunded
        refunded |= mask
        frames.append(
            {
                "order_id": facts["order_id"][mask],
                "created_at": at[mask],
                "amount_usd": cents[mask],
                "reason": reason[mask].astype(np.int8),
            }
        )
    frame = concat(frames)
    frame["refund_id"] = chunk_id(chunk, np.arange(len(frame["order_id"])))
    frame[EVENT] = frame["created_at"]
    frame[VISIBLE] = frame["created_at"]
    return frame, refunded


def chargeback_rows(cfg_end: int, chunk: Chunk, rng: np.random.Generator, facts: Frame, refunded: np.ndarray) -> Frame:
    """Disputes 5 to 90 days after the order: stolen cards, hijacked accounts, scams, noise."""
    n = len(facts["order_id"])
    kind = facts["kind"]
    u = rng.random((2, n))
    idx = {r: CHARGEBACK_REASONS.index(r) for r in CHARGEBACK_REASONS}
    background = rng.choice(len(CHARGEBACK_REASONS), n, p=[0.35, 0.2, 0.3, 0.15])
    fraud = ((kind == FRAUD_BURST) & (u[0] < 0.55)) | ((kind == TAKEOVER_SPREE) & (u[0] < 0.6))
    fraud |= (kind == PROMO) & (u[0] < 0.02)
    not_received = facts["stuck"] & ~refunded & (u[0] < 0.4)
    noise = ~fraud & ~not_received & ~refunded & (u[1] < 0.003)
    reason = np.where(fraud, idx["fraud"], np.where(not_received, idx["not_received"], background))
    delay = np.clip(5 * DAY + rng.gamma(2.0, 9.0, n) * DAY, 5 * DAY + MINUTE, 90 * DAY - MINUTE).astype(np.int64)
    reported = facts["created_at"] + delay
    mask = (fraud | not_received | noise) & (reported < cfg_end)
    frame: Frame = {
        "order_id": facts["order_id"][mask],
        "reported_at": reported[mask],
        "reason": reason[mask].astype(np.int8),
        "amount_usd": _partial(rng, facts["amount_usd"], 0.85)[mask],
    }
    frame["chargeback_id"] = chunk_id(chunk, np.arange(int(mask.sum())))
    frame[EVENT] = frame["reported_at"]
    frame[VISIBLE] = frame["reported_at"]
    return frame


def report_rows(world: World, chunk: Chunk, rng: np.random.Generator, facts: Frame, shill_reports: Frame) -> Frame:
    """User reports: scam victims, shill spotters and a background of noise."""
    pop, cfg = world.pop, world.cfg
    a = chunk.accounts
    n = len(facts["order_id"])
    u = rng.random(n)
    scam = facts["stuck"] & facts["scam"] & (u < 0.22)
    scam_reports: Frame = {
        "reporter_id": facts["buyer_id"][scam],
        "reported_id": facts["seller_id"][scam],
        "occurred_at": facts["created_at"][scam] + _uniform(rng, int(scam.sum()), 7 * DAY, 25 * DAY),
        "reason": np.where(
            rng.random(int(scam.sum())) < 0.85,
            REPORT_REASONS.index("scam"),
            REPORT_REASONS.index("other"),
        ).astype(np.int8),
    }
    lo, hi = world.active_lo[a], world.active_hi[a]
    counts = rng.poisson(0.0005 * np.sqrt(pop.engagement[a]) * (hi - lo) / DAY)
    reporter, t = _window_events(rng, a, counts, lo, hi)
    k = len(reporter)
    anyone = (rng.random(k) * np.searchsorted(pop.created_us, t)).astype(np.int64)
    reported = np.where(rng.random(k) < 0.55, _pick_seller(world, rng, t), anyone)
    noise: Frame = {
        "reporter_id": reporter,
        "reported_id": reported,
        "occurred_at": t,
        "reason": rng.choice(len(REPORT_REASONS), k, p=[0.15, 0.15, 0.08, 0.27, 0.35]).astype(np.int8),
    }
    frame = concat([scam_reports, shill_reports, noise])
    t = frame["occurred_at"]
    keep = (frame["reported_id"] >= 0) & (frame["reported_id"] != frame["reporter_id"]) & (t < cfg.end_us)
    frame = take(frame, keep)
    frame["report_id"] = chunk_id(chunk, np.arange(int(keep.sum())))
    frame[EVENT] = frame["occurred_at"]
    frame[VISIBLE] = frame["occurred_at"]
    return frame


def commerce_rows(world: World, chunk: Chunk, rng: np.random.Generator, usable: np.ndarray) -> dict[str, Frame]:
    """All marketplace tables of one chunk."""
    bids, won, shill_reports = auction_rows(world, chunk, rng)
    drafts = concat([won, purchase_drafts(world, chunk, rng)])
    orders, facts = order_rows(world, chunk, rng, drafts, usable)
    refunds, refunded = refund_rows(world.cfg.end_us, chunk, rng, facts)
    chargebacks = chargeback_rows(world.cfg.end_us, chunk, rng, facts, refunded)
    reports = report_rows(world, chunk, rng, facts, shill_reports)
    return {
        "bids": bids,
        "orders": orders,
        "refunds": refunds,
        "chargebacks": chargebacks,
        "user_reports": reports,
    }
