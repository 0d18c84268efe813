"""Livestreams: every seller's shows for the whole period, generated once globally.

Shows are few (tens of thousands per 20k accounts) and every buyer chunk bids into them, so
they are built before the chunk loop; their rows are written with the host's chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.simulate.abuse import Roles
from ml.simulate.config import SimulationConfig
from ml.simulate.frames import EVENT, VERSION, VISIBLE, Frame, concat, take
from ml.simulate.labels import EnforcementPlan
from ml.simulate.population import Population
from ml.simulate.timing import (
    DAY,
    MINUTE,
    NULL_TS,
    STREAM_HOUR_WEIGHTS,
    lognormal_us,
    seasonal_times,
)
from ml.simulate.vocab import CATEGORY_WEIGHTS


@dataclass(frozen=True)
class Streams:
    """All shows, sorted by host then start; stream id = position."""

    seller: np.ndarray  # int64 account index of the host
    started_us: np.ndarray  # int64
    ended_us: np.ndarray  # int64 (may lie after the end of the world: still live then)
    category: np.ndarray  # int8
    lots_mean: np.ndarray  # float32 expected lots auctioned in the show
    bids_mean: np.ndarray  # float32 expected bids per lot beyond the first

    @property
    def n(self) -> int:
        return len(self.seller)


def selling_window(
    cfg: SimulationConfig, pop: Population, roles: Roles, plan: EnforcementPlan
) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) per account in which it can sell: approved, not gone, not banned."""
    lo = np.maximum(pop.approved_us, cfg.start_us)
    hi = np.minimum(np.minimum(roles.natural_end_us, plan.inactive_from_us), cfg.end_us)
    hi = np.where(pop.is_seller, hi, lo)
    return lo, np.maximum(hi, lo)


def build_streams(
    cfg: SimulationConfig,
    pop: Population,
    roles: Roles,
    plan: EnforcementPlan,
    rng: np.random.Generator,
) -> Streams:
    """Poisson number of shows per seller over its selling window, at prime time."""
    lo, hi = selling_window(cfg, pop, roles, plan)
    days = (hi - lo) / DAY
    counts = rng.poisson(pop.stream_rate * days)
    seller = np.repeat(np.arange(pop.n, dtype=np.int64), counts)
    started = seasonal_times(rng, lo[seller], hi[seller], hour_weights=STREAM_HOUR_WEIGHTS)
    order = np.lexsort((started, seller))
    seller, started = seller[order], started[order]
    k = len(seller)
    duration = np.clip(lognormal_us(rng, k, 80 * MINUTE, 0.45), 20 * MINUTE, 5 * 60 * MINUTE)
    # Hosts mostly stick to their category.
    category = np.where(
        rng.random(k) < 0.88,
        pop.category[seller],
        rng.choice(len(CATEGORY_WEIGHTS), k, p=CATEGORY_WEIGHTS / CATEGORY_WEIGHTS.sum()),
    )
    popularity = pop.seller_popularity[seller] * np.exp(0.3 * rng.standard_normal(k))
    return Streams(
        seller=seller,
        started_us=started,
        ended_us=started + duration,
        category=category.astype(np.int8),
        lots_mean=np.clip(2.0 + 4.0 * popularity**0.6, 1.0, 40.0).astype(np.float32),
        bids_mean=np.clip(0.8 + 1.5 * popularity**0.4, 0.5, 6.0).astype(np.float32),
    )


def stream_rows(streams: Streams, lo: int, hi: int, end_us: int) -> Frame:
    """Shows hosted by accounts [lo, hi): a row when the show goes live (ended_at null) and
    a new version when it ends, as a CDC feed would emit them."""
    first, last = np.searchsorted(streams.seller, [lo, hi])
    ids = np.arange(first, last, dtype=np.int64)
    live: Frame = {
        "stream_id": ids,
        "seller_id": streams.seller[ids],
        "started_at": streams.started_us[ids],
        "ended_at": np.full(len(ids), NULL_TS),
        "category": streams.category[ids],
        EVENT: streams.started_us[ids],
        VISIBLE: streams.started_us[ids],
        VERSION: np.zeros(len(ids), np.int8),
    }
    over = streams.ended_us[ids] < end_us
    ended = take(live, over)
    ended["ended_at"] = streams.ended_us[ids][over]
    ended[EVENT] = ended["ended_at"]
    ended[VISIBLE] = ended["ended_at"]
    ended[VERSION] = np.ones(int(over.sum()), np.int8)
    return concat([live, ended])
