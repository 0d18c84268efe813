"""Decision policy: review and block thresholds chosen from stated costs and capacity.

With calibrated probabilities p, acting on an account is worth it when the expected loss it
prevents exceeds the expected friction it causes: block when p * L > (1 - p) * c_block, i.e.
p > c_block / (c_block + L); likewise for review. The review threshold is then raised, if
needed, so that the expected daily queue fits the team's capacity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ml.evaluate.metrics import queue_items


@dataclass(frozen=True)
class PolicyCosts:
    loss_per_missed_bad_usd: float = 400.0  # average loss when a bad account acts unchecked
    review_cost_per_good_usd: float = 8.0  # analyst time + friction for a good account reviewed
    block_cost_per_good_usd: float = 150.0  # churn and support cost of blocking a good account
    # Review items the team can work per day: an account, or the flagged members of one linked
    # group (reviewed together, as the review queue shows them).
    review_capacity_per_day: int = 100


@dataclass(frozen=True)
class DecisionPolicy:
    review_threshold: float
    block_threshold: float
    costs: PolicyCosts
    expected: dict[str, float]  # per-day outcome on the block the policy was chosen on

    def as_params(self) -> dict[str, float]:
        return {
            "policy_review_threshold": self.review_threshold,
            "policy_block_threshold": self.block_threshold,
            **{f"policy_{k}": v for k, v in asdict(self.costs).items()},
        }

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> DecisionPolicy:
        return cls(
            review_threshold=float(data["review_threshold"]),
            block_threshold=float(data["block_threshold"]),
            costs=PolicyCosts(**data["costs"]),
            expected={k: float(v) for k, v in data["expected"].items()},
        )

    def band(self, probability: np.ndarray) -> np.ndarray:
        """`block`, `review` or `allow` per calibrated probability."""
        p = np.asarray(probability, float)
        return np.where(p >= self.block_threshold, "block", np.where(p >= self.review_threshold, "review", "allow"))


def _break_even(cost: float, loss: float) -> float:
    return cost / (cost + loss)


def expected_outcome(
    frame: pd.DataFrame, prob: str, review_threshold: float, block_threshold: float, label: str = "is_bad"
) -> dict[str, float]:
    """Average per day: accounts reviewed (and the review items they make) and blocked, bad
    accounts caught, good accounts hit."""
    days = frame["as_of_date"].nunique()
    p, bad = frame[prob].to_numpy(float), frame[label].astype(bool).to_numpy()
    block = p >= block_threshold
    review = (p >= review_threshold) & ~block
    acted = block | review
    return {
        "reviewed_per_day": review.sum() / days,
        "review_items_per_day": _items(frame[review]) / days,
        "blocked_per_day": block.sum() / days,
        "bad_caught_per_day": (acted & bad).sum() / days,
        "bad_missed_per_day": (~acted & bad).sum() / days,
        "good_hit_per_day": (acted & ~bad).sum() / days,
    }


def _items(frame: pd.DataFrame) -> int:
    """Review items among the rows: one per account, one per linked group and day."""
    return int((~pd.DataFrame({"day": frame["as_of_date"], "item": queue_items(frame)}).duplicated()).sum())


def choose_policy(frame: pd.DataFrame, prob: str, costs: PolicyCosts, label: str = "is_bad") -> DecisionPolicy:
    """Cost-optimal thresholds, with the review threshold raised until the average day's queue
    fits the capacity, counted in review items (`queue_items`)."""
    loss = costs.loss_per_missed_bad_usd
    block_threshold = _break_even(costs.block_cost_per_good_usd, loss)
    review_threshold = min(_break_even(costs.review_cost_per_good_usd, loss), block_threshold)
    days = frame["as_of_date"].nunique()
    p = frame[prob].to_numpy(float)
    candidates = frame[(p >= review_threshold) & (p < block_threshold)].sort_values(
        prob, ascending=False, kind="stable"
    )
    first_of_item = ~pd.DataFrame({"day": candidates["as_of_date"], "item": queue_items(candidates)}).duplicated()
    over = np.flatnonzero(first_of_item.cumsum().to_numpy() > costs.review_capacity_per_day * days)
    if over.size:
        # Just above the score of the first row whose item no longer fits the average day.
        review_threshold = float(np.nextafter(candidates[prob].iloc[over[0]], 1.0))
    return DecisionPolicy(
        review_threshold=float(review_threshold),
        block_threshold=float(block_threshold),
        costs=costs,
        expected=expected_outcome(frame, prob, review_threshold, block_threshold, label),
    )
