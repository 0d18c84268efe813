"""Labels: what the platform's existing review process does, and the hidden truth.

Enforcement is planned for the whole population before any event is generated, because a
ban ends an account's activity. It is deliberately imperfect, as in production: delays of
days to weeks, a good share of abusers never actioned, the wrong abuse type now and then,
and good accounts (traps above all) wrongly actioned and mostly reinstated on appeal.
The ground truth (who really abuses) is written apart from the landing data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ml.contract import ABUSE_TYPES, ENFORCEMENT_ACTIONS, ENFORCEMENT_SOURCES
from ml.simulate.abuse import (
    ABUSE_PATTERNS,
    ACCOUNT_TAKEOVER,
    MULTI_ACCOUNTING,
    PAYMENT_FRAUD,
    SELLER_SCAM,
    SHILL_BIDDING,
    TRAP_TYPES,
    Roles,
)
from ml.simulate.config import SimulationConfig
from ml.simulate.encoding import decimal_strings, timestamps, vocab_strings
from ml.simulate.frames import EVENT, VISIBLE, Frame
from ml.simulate.population import Population
from ml.simulate.timing import DAY, FAR_FUTURE, HOUR, NULL_TS, lognormal_us, uniform_between

WARN, SUSPEND, BAN, REINSTATE = (ENFORCEMENT_ACTIONS.index(a) for a in ("warn", "suspend", "ban", "reinstate"))
MANUAL_REVIEW, RULE, MODEL, APPEAL = (
    ENFORCEMENT_SOURCES.index(s) for s in ("manual_review", "rule", "model", "appeal")
)
NONE_TYPE = ABUSE_TYPES.index("none")

# Indexed by abuse code (0 unused). Scams draw complaints fast and are caught most often;
# shill rings are subtle and slow to spot.
_RECALL_FACTOR = np.array([0.0, 1.1, 0.85, 1.25, 0.75, 0.85])
_DELAY_MEDIAN_DAYS = np.array([0.0, 9.0, 6.0, 16.0, 25.0, 14.0])
# The plausible wrong type a reviewer picks now and then (abuse code -> abuse code).
_CONFUSED_WITH = np.array([0, ACCOUNT_TAKEOVER, PAYMENT_FRAUD, PAYMENT_FRAUD, MULTI_ACCOUNTING, PAYMENT_FRAUD])
# What each trap gets mistaken for (trap code -> abuse code).
_TRAP_SUSPICION = np.array([0, ACCOUNT_TAKEOVER, PAYMENT_FRAUD, SELLER_SCAM, MULTI_ACCOUNTING])


@dataclass(frozen=True)
class EnforcementPlan:
    """Enforcement rows (sorted by account, then time) and the windows they disable."""

    account: np.ndarray  # int64
    occurred_us: np.ndarray  # int64
    action: np.ndarray  # int8 code into ENFORCEMENT_ACTIONS
    abuse_type: np.ndarray  # int8 code into ABUSE_TYPES
    source: np.ndarray  # int8 code into ENFORCEMENT_SOURCES
    inactive_from_us: np.ndarray  # per account: suspended/banned from ...
    inactive_to_us: np.ndarray  # ... until reinstated (FAR_FUTURE if never)


def _contract_type(abuse_code: np.ndarray) -> np.ndarray:
    """Abuse code (1-based ABUSE_PATTERNS) -> code into the contract's ABUSE_TYPES."""
    lookup = np.array([NONE_TYPE] + [ABUSE_TYPES.index(p) for p in ABUSE_PATTERNS])
    return lookup[abuse_code]


def _sources(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice([MANUAL_REVIEW, RULE, MODEL], n, p=[0.6, 0.25, 0.15])


def plan_enforcement(cfg: SimulationConfig, pop: Population, roles: Roles, rng: np.random.Generator) -> EnforcementPlan:
    """Decide every warn / suspend / ban / reinstate of the period up front."""
    n = pop.n
    start, end = cfg.start_us, cfg.end_us
    abuse = roles.abuse.astype(np.int64)

    # Abusers. Rings are found together (one case, several accounts); the rest one by one.
    recall = np.clip(cfg.enforcement_recall * _RECALL_FACTOR[abuse], 0.0, 0.95)
    found = rng.random(n) < recall
    delay = lognormal_us(rng, n, _DELAY_MEDIAN_DAYS[abuse] * DAY, 0.7)
    when = roles.abuse_start_us + np.maximum(delay, 2 * HOUR)
    ringed = (roles.ring >= 0) & np.isin(abuse, [SHILL_BIDDING, MULTI_ACCOUNTING])
    if ringed.any():
        n_rings = int(roles.ring.max()) + 1
        ring_found = rng.random(n_rings) < np.bincount(roles.ring[ringed], recall[ringed], n_rings) / np.maximum(
            np.bincount(roles.ring[ringed], minlength=n_rings), 1
        )
        ring_when = np.full(n_rings, FAR_FUTURE, np.int64)
        np.minimum.at(ring_when, roles.ring[ringed], when[ringed])
        r = roles.ring[ringed]
        found[ringed] = ring_found[r] & (rng.random(len(r)) < 0.85)
        jitter = uniform_between(rng, np.zeros(len(r), np.int64), np.full(len(r), 2 * DAY))
        # Never before the member's own abuse began (a shill may join after the ring started).
        when[ringed] = np.maximum(ring_when[r] + jitter, roles.abuse_start_us[ringed] + HOUR)
    hit = np.flatnonzero((abuse > 0) & found)
    k = len(hit)
    guessed = np.where(rng.random(k) < 0.9, abuse[hit], _CONFUSED_WITH[abuse[hit]])
    bad = {
        "account": hit,
        "occurred_us": when[hit],
        "action": np.where(rng.random(k) < 0.55, BAN, SUSPEND),
        "abuse_type": _contract_type(guessed),
        "source": _sources(rng, k),
    }
    # Wrong actions: traps most often, ordinary good accounts rarely.
    good = abuse == 0
    p_wrong = np.where(roles.trap > 0, cfg.trap_false_action_rate, cfg.false_action_rate)
    wrong = np.flatnonzero(good & (rng.random(n) < p_wrong))
    k = len(wrong)
    suspicion = np.where(
        roles.trap[wrong] > 0,
        _TRAP_SUSPICION[roles.trap[wrong]],
        rng.integers(1, len(ABUSE_PATTERNS) + 1, k),
    )
    lo = np.maximum(start, pop.created_us[wrong] + DAY)
    mistaken = {
        "account": wrong,
        "occurred_us": uniform_between(rng, lo, np.full(k, end)),
        "action": rng.choice([SUSPEND, BAN, WARN], k, p=[0.65, 0.2, 0.15]),
        "abuse_type": _contract_type(suspicion),
        "source": rng.choice([MANUAL_REVIEW, RULE, MODEL], k, p=[0.55, 0.25, 0.2]),
    }
    # Plain warnings (harassment, policy nudges) on a few good accounts.
    warned = np.flatnonzero(good & (rng.random(n) < 0.003))
    k = len(warned)
    lo = np.maximum(start, pop.created_us[warned] + DAY)
    warns = {
        "account": warned,
        "occurred_us": uniform_between(rng, lo, np.full(k, end)),
        "action": np.full(k, WARN),
        "abuse_type": np.where(rng.random(k) < 0.7, NONE_TYPE, _contract_type(rng.integers(1, 6, k))),
        "source": rng.choice([MANUAL_REVIEW, RULE], k, p=[0.7, 0.3]),
    }
    # Some caught abusers get a warning first.
    first = rng.random(len(bad["account"])) < 0.15
    pre_warn = {
        "account": bad["account"][first],
        "occurred_us": bad["occurred_us"][first]
        - uniform_between(rng, np.full(int(first.sum()), 2 * DAY), np.full(int(first.sum()), 10 * DAY)),
        "action": np.full(int(first.sum()), WARN),
        "abuse_type": bad["abuse_type"][first],
        "source": _sources(rng, int(first.sum())),
    }

    # Appeals: most wrong suspensions are reversed, a few right ones too.
    actions = {key: np.concatenate([bad[key], mistaken[key]]) for key in bad}
    is_wrong = np.r_[np.zeros(len(bad["account"]), bool), np.ones(len(mistaken["account"]), bool)]
    blocking = actions["action"] != WARN
    p_appeal = np.where(is_wrong, cfg.appeal_success_rate, 0.04)
    reversed_ = blocking & (rng.random(len(is_wrong)) < p_appeal)
    back_at = actions["occurred_us"] + uniform_between(
        rng, np.full(len(is_wrong), 2 * DAY), np.full(len(is_wrong), 25 * DAY)
    )
    reinstates = {
        "account": actions["account"][reversed_],
        "occurred_us": back_at[reversed_],
        "action": np.full(int(reversed_.sum()), REINSTATE),
        "abuse_type": actions["abuse_type"][reversed_],
        "source": np.full(int(reversed_.sum()), APPEAL),
    }
    inactive_from = np.full(n, FAR_FUTURE, np.int64)
    inactive_to = np.full(n, FAR_FUTURE, np.int64)
    inactive_from[actions["account"][blocking]] = actions["occurred_us"][blocking]
    inactive_to[actions["account"][reversed_]] = back_at[reversed_]

    rows = {key: np.concatenate([part[key] for part in (actions, warns, pre_warn, reinstates)]) for key in bad}
    keep = (
        (rows["occurred_us"] >= start)
        & (rows["occurred_us"] < end)
        & (rows["occurred_us"] > pop.created_us[rows["account"]])
    )
    rows = {key: v[keep] for key, v in rows.items()}
    order = np.lexsort((rows["occurred_us"], rows["account"]))
    return EnforcementPlan(
        account=rows["account"][order].astype(np.int64),
        occurred_us=rows["occurred_us"][order].astype(np.int64),
        action=rows["action"][order].astype(np.int8),
        abuse_type=rows["abuse_type"][order].astype(np.int8),
        source=rows["source"][order].astype(np.int8),
        inactive_from_us=inactive_from,
        inactive_to_us=inactive_to,
    )


GROUND_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string()),
        pa.field("is_abuser", pa.bool_()),
        pa.field("abuse_type", pa.string()),
        pa.field("abuse_start_at", pa.timestamp("us")),
        pa.field("ring_id", pa.string()),
        pa.field("trap_type", pa.string()),
    ]
)


def ground_truth_table(roles: Roles, account_width: int) -> pa.Table:
    """One row per account: the hidden truth evaluation compares labels against."""
    n = len(roles.abuse)
    arrays = [
        decimal_strings(np.arange(n, dtype=np.int64), account_width, "acc_"),
        pa.array(roles.abuse > 0),
        vocab_strings(roles.abuse.astype(np.int64) - 1, ABUSE_PATTERNS),
        timestamps(np.where(roles.abuse > 0, roles.abuse_start_us, NULL_TS)),
        decimal_strings(roles.ring.astype(np.int64), 5, "ring_"),
        vocab_strings(roles.trap.astype(np.int64) - 1, TRAP_TYPES),
    ]
    return pa.Table.from_arrays(arrays, schema=GROUND_TRUTH_SCHEMA)


def enforcement_rows(plan: EnforcementPlan, lo: int, hi: int) -> Frame:
    """Actions on accounts [lo, hi); the action id is the action's position in the plan."""
    first, last = np.searchsorted(plan.account, [lo, hi])
    rows = np.arange(first, last, dtype=np.int64)
    return {
        "action_id": rows,
        "account_id": plan.account[rows],
        "occurred_at": plan.occurred_us[rows],
        "action": plan.action[rows],
        "abuse_type": plan.abuse_type[rows],
        "source": plan.source[rows],
        EVENT: plan.occurred_us[rows],
        VISIBLE: plan.occurred_us[rows],
    }
