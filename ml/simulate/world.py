"""The global state every account chunk reads: population, roles, enforcement, shows.

Built once per run. Per-chunk generators only read it, so chunks are independent and the
memory held across the loop is a few arrays per account plus the show schedule.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

import numpy as np

from ml.simulate.abuse import Roles, assign_roles
from ml.simulate.config import SimulationConfig
from ml.simulate.labels import EnforcementPlan, plan_enforcement
from ml.simulate.population import Population, build_population
from ml.simulate.streams import Streams, build_streams, selling_window
from ml.simulate.timing import HOUR, week_edges, week_overlap_days

log = logging.getLogger(__name__)


def stage_rng(seed: int, stage: str, chunk: int = -1) -> np.random.Generator:
    """An independent generator per (stage, chunk): adding a stage never shifts another."""
    return np.random.default_rng([seed, chunk + 1, zlib.crc32(stage.encode())])


@dataclass(frozen=True)
class Chunk:
    """A contiguous range of account indices (= a signup-time cohort)."""

    index: int
    lo: int
    hi: int

    @property
    def accounts(self) -> np.ndarray:
        return np.arange(self.lo, self.hi, dtype=np.int64)


@dataclass(frozen=True)
class World:
    cfg: SimulationConfig
    pop: Population
    roles: Roles
    plan: EnforcementPlan
    streams: Streams
    edges: np.ndarray  # simulation week edges (us)
    active_lo: np.ndarray  # per account: first moment it can act in the period
    active_hi: np.ndarray  # per account: when it stops for good (abandoned or world ends)
    sell_lo: np.ndarray  # per account: selling window [sell_lo, sell_hi)
    sell_hi: np.ndarray
    sellers: np.ndarray  # account indices of sellers
    seller_cdf: np.ndarray  # (weeks, sellers) cumulative buyer attention per week
    chunk_share: np.ndarray  # (chunks, weeks) share of all bidding attention per chunk

    def chunk(self, index: int) -> Chunk:
        size = self.cfg.chunk_accounts
        return Chunk(index, index * size, min((index + 1) * size, self.pop.n))

    def is_active(self, account: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Can `account` act at `t`: signed up, not gone, not suspended at that moment."""
        suspended = (t >= self.plan.inactive_from_us[account]) & (t < self.plan.inactive_to_us[account])
        return (t >= self.active_lo[account]) & (t < self.active_hi[account]) & ~suspended

    def is_selling(self, seller: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Is `seller` approved, not gone and not suspended at `t`."""
        return (t >= self.sell_lo[seller]) & (t < self.sell_hi[seller]) & self.is_active(seller, t)


def build_world(cfg: SimulationConfig) -> World:
    """Population -> roles -> enforcement -> shows, plus the lookup tables chunks share."""
    pop = build_population(cfg, stage_rng(cfg.seed, "population"))
    pop, roles = assign_roles(cfg, pop, stage_rng(cfg.seed, "abuse"))
    plan = plan_enforcement(cfg, pop, roles, stage_rng(cfg.seed, "labels"))
    streams = build_streams(cfg, pop, roles, plan, stage_rng(cfg.seed, "streams"))
    edges = week_edges(cfg.start_us, cfg.end_us)
    # An hour after signup before anything happens: the account needs a card and a login.
    active_lo = np.maximum(pop.created_us + HOUR, cfg.start_us)
    active_hi = np.minimum(roles.natural_end_us, cfg.end_us)
    active_hi = np.maximum(active_hi, active_lo)

    sell_lo, sell_hi = selling_window(cfg, pop, roles, plan)
    sellers = np.flatnonzero(pop.is_seller)
    overlap = week_overlap_days(sell_lo[sellers], sell_hi[sellers], edges)
    seller_cdf = np.cumsum(overlap * pop.seller_popularity[sellers][None, :], axis=1, dtype=np.float64)

    n_chunks = cfg.n_chunks
    mass = np.zeros((n_chunks, len(edges) - 1))
    for c in range(n_chunks):
        lo, hi = c * cfg.chunk_accounts, min((c + 1) * cfg.chunk_accounts, pop.n)
        days = week_overlap_days(active_lo[lo:hi], active_hi[lo:hi], edges)
        mass[c] = days @ pop.engagement[lo:hi].astype(np.float64)
    chunk_share = mass / np.maximum(mass.sum(axis=0, keepdims=True), 1e-9)
    log.info(
        "world: %d accounts, %d sellers, %d shows, %d enforcement actions",
        pop.n,
        len(sellers),
        streams.n,
        len(plan.account),
    )
    return World(
        cfg=cfg,
        pop=pop,
        roles=roles,
        plan=plan,
        streams=streams,
        edges=edges,
        active_lo=active_lo,
        active_hi=active_hi,
        sell_lo=sell_lo,
        sell_hi=sell_hi,
        sellers=sellers,
        seller_cdf=seller_cdf,
        chunk_share=chunk_share,
    )


def draw_by_week(rng: np.random.Generator, week: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """For each event, a column of `cdf` (weeks, k) drawn by that week's weights; -1 if none."""
    u = rng.random(len(week))
    out = np.full(len(week), -1, dtype=np.int64)
    order = np.argsort(week, kind="stable")
    bounds = np.searchsorted(week[order], np.arange(cdf.shape[0] + 1))
    for w in range(cdf.shape[0]):  # one vectorised draw per week
        rows = order[bounds[w] : bounds[w + 1]]
        total = cdf[w, -1] if cdf.shape[1] else 0.0
        if len(rows) == 0 or total <= 0:
            continue
        picked = np.searchsorted(cdf[w], u[rows] * total, side="right")
        out[rows] = np.minimum(picked, cdf.shape[1] - 1)
    return out
