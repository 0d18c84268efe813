"""Decision policy: review and block thresholds chosen from stated costs and capacity, one
operating point per side of the market.

With calibrated probabilities p, acting on an account is worth it when the expected loss it
prevents exceeds the expected friction it causes: block when p * L > (1 - p) * c_block, i.e.
p > c_block / (c_block + L); likewise for review. The review threshold is then raised, if
needed, so that the expected daily queue fits the team's capacity.

Sellers are not buyers: blocking an honest seller stops its shows and its buyers' orders, a
seller's review holds its payouts, and a scam seller's loss is many buyers' orders. So sellers
(`is_seller` = 1) get their own costs, their own share of the review capacity and their own
thresholds; buyer-only accounts (and accounts whose side is unknown) the buyers'.

Rules (`ml.score.rules`) put the `allow` rows they match in review whatever their score: their
review items take their side's capacity first, and the model's review threshold is raised over
what is left (`review_anyway`, a mask of the rows some rule matches).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

from ml.evaluate.metrics import new_items

SIDE_COLUMN = "is_seller"


@dataclass(frozen=True)
class PolicyCosts:
    # Buyer-only accounts.
    loss_per_missed_bad_usd: float = 400.0  # average loss when a bad account acts unchecked
    review_cost_per_good_usd: float = 8.0  # analyst time + friction for a good account reviewed
    block_cost_per_good_usd: float = 150.0  # churn and support cost of blocking a good account
    # Review items the team can work per day, both sides together: an account, or the flagged
    # members of one linked group (reviewed together, as the review queue shows them).
    review_capacity_per_day: int = 100
    # Sellers.
    seller_loss_per_missed_bad_usd: float = 1000.0  # a scam seller's unshipped orders, charged back
    seller_review_cost_per_good_usd: float = 40.0  # payouts held and shows paused while reviewed
    seller_block_cost_per_good_usd: float = 1500.0  # an honest seller's lost sales and its buyers'
    seller_review_capacity_share: float = 0.25  # of review_capacity_per_day, kept for sellers

    def __post_init__(self) -> None:
        if not 0 <= self.seller_review_capacity_share <= 1:
            raise ValueError(f"seller_review_capacity_share must be in [0, 1], got {self.seller_review_capacity_share}")

    @property
    def seller_review_capacity_per_day(self) -> float:
        return self.review_capacity_per_day * self.seller_review_capacity_share


@dataclass(frozen=True)
class DecisionPolicy:
    review_threshold: float  # buyer-only accounts (every account when the seller's are None)
    block_threshold: float
    costs: PolicyCosts
    expected: dict[str, float]  # per-day outcome on the block the policy was chosen on
    # Sellers' operating point; None in a one-point policy (one chosen without the side column).
    seller_review_threshold: float | None = None
    seller_block_threshold: float | None = None

    @property
    def two_sided(self) -> bool:
        return self.seller_review_threshold is not None and self.seller_block_threshold is not None

    def as_params(self) -> dict[str, float]:
        params = {
            "policy_review_threshold": self.review_threshold,
            "policy_block_threshold": self.block_threshold,
            **{f"policy_{k}": v for k, v in asdict(self.costs).items()},
        }
        if self.two_sided:
            params["policy_seller_review_threshold"] = self.seller_review_threshold
            params["policy_seller_block_threshold"] = self.seller_block_threshold
        return params

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> DecisionPolicy:
        known = {f.name for f in fields(PolicyCosts)}
        seller_review, seller_block = data.get("seller_review_threshold"), data.get("seller_block_threshold")
        return cls(
            review_threshold=float(data["review_threshold"]),
            block_threshold=float(data["block_threshold"]),
            costs=PolicyCosts(**{k: v for k, v in data["costs"].items() if k in known}),
            expected={k: float(v) for k, v in data["expected"].items()},
            seller_review_threshold=None if seller_review is None else float(seller_review),
            seller_block_threshold=None if seller_block is None else float(seller_block),
        )

    def thresholds(self, is_seller: object = None, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row (review, block) thresholds for rows whose side is `is_seller` (1 = seller;
        0 or null = buyer-only). A two-sided policy refuses to guess a side it is not given."""
        if not self.two_sided:
            size = n if is_seller is None else len(is_seller)
            return np.full(size, self.review_threshold), np.full(size, self.block_threshold)
        if is_seller is None:
            raise ValueError(f"this policy has an operating point per side: `{SIDE_COLUMN}` is needed to band")
        seller = _sellers(is_seller)
        return (
            np.where(seller, self.seller_review_threshold, self.review_threshold),
            np.where(seller, self.seller_block_threshold, self.block_threshold),
        )

    def band(self, probability: np.ndarray, is_seller: object = None, review_anyway: object = None) -> np.ndarray:
        """`block`, `review` or `allow` per calibrated probability (and side, see `thresholds`);
        `allow` rows where `review_anyway` (a rule matched) are `review`."""
        p = np.asarray(probability, float)
        review, block = self.thresholds(is_seller, len(p))
        review = review if review_anyway is None else np.where(_mask(review_anyway, len(p)), -np.inf, review)
        return np.where(p >= block, "block", np.where(p >= review, "review", "allow"))


def _mask(rows: object, n: int) -> np.ndarray:
    """A boolean row mask of length n (all False when `rows` is None)."""
    if rows is None:
        return np.zeros(n, dtype=bool)
    mask = np.asarray(rows, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"a row mask of {mask.shape} for {n} rows")
    return mask


def _sellers(is_seller: object) -> np.ndarray:
    """True where the side is seller (1); buyer-only (0) and unknown (null) are False."""
    return pd.Series(is_seller).astype("float64").to_numpy() == 1


def _break_even(cost: float, loss: float) -> float:
    return cost / (cost + loss)


def expected_outcome(
    frame: pd.DataFrame,
    prob: str,
    review_threshold: float | np.ndarray,
    block_threshold: float | np.ndarray,
    label: str = "is_bad",
    review_anyway: object = None,
) -> dict[str, float]:
    """Average per day: accounts reviewed (and the review items they make; those only a rule
    put there, `review_anyway`) and blocked, bad accounts caught, good accounts hit. Thresholds
    are one value or one per row."""
    days = frame["as_of_date"].nunique()
    p, bad = frame[prob].to_numpy(float), frame[label].astype(bool).to_numpy()
    block = p >= block_threshold
    by_rule = _mask(review_anyway, len(frame)) & ~block & (p < review_threshold)
    review = ((p >= review_threshold) & ~block) | by_rule
    acted = block | review
    return {
        "reviewed_per_day": review.sum() / days,
        "rule_reviewed_per_day": by_rule.sum() / days,
        "review_items_per_day": int(new_items(frame[review]).sum()) / days,
        "blocked_per_day": block.sum() / days,
        "bad_caught_per_day": (acted & bad).sum() / days,
        "bad_missed_per_day": (~acted & bad).sum() / days,
        "good_hit_per_day": (acted & ~bad).sum() / days,
    }


def _operating_point(
    frame: pd.DataFrame,
    prob: str,
    days: int,
    loss: float,
    review_cost: float,
    block_cost: float,
    capacity: float,
    ruled: np.ndarray,
) -> tuple[float, float]:
    """Break-even (review, block) thresholds of one side, the review threshold raised until the
    side's average day (over `days`, the whole block's) fits its capacity in review items. The
    items of the `ruled` rows (reviewed whatever their score, unless blocked) come first; if
    they alone fill the capacity, the model reviews nothing (review threshold = block's)."""
    block_threshold = _break_even(block_cost, loss)
    review_threshold = min(_break_even(review_cost, loss), block_threshold)
    p = frame[prob].to_numpy(float)
    queued = np.flatnonzero(((p >= review_threshold) | ruled) & (p < block_threshold))
    queued = queued[np.argsort(-np.where(ruled, np.inf, p)[queued], kind="stable")]  # rules' rows first
    candidates = frame.iloc[queued]
    over = np.flatnonzero(new_items(candidates).cumsum().to_numpy() > capacity * days)
    if over.size:
        first = over[0]
        if ruled[queued[first]]:
            return float(block_threshold), float(block_threshold)
        # Just above the score of the first row whose item no longer fits the average day.
        review_threshold = float(np.nextafter(candidates[prob].iloc[first], 1.0))
    return float(review_threshold), float(block_threshold)


def choose_policy(
    frame: pd.DataFrame, prob: str, costs: PolicyCosts, label: str = "is_bad", review_anyway: object = None
) -> DecisionPolicy:
    """Cost-optimal thresholds per side of the market, each side's review threshold raised until
    its average day's queue fits its capacity (counted in review items, `ml.evaluate.metrics.queue_items`),
    the items of the rows a rule reviews anyway (`review_anyway`) counted first. Without the
    side column: one operating point, with the buyers' costs and the whole capacity."""
    days = frame["as_of_date"].nunique()
    ruled = _mask(review_anyway, len(frame))
    if SIDE_COLUMN not in frame:
        review, block = _operating_point(
            frame,
            prob,
            days,
            costs.loss_per_missed_bad_usd,
            costs.review_cost_per_good_usd,
            costs.block_cost_per_good_usd,
            costs.review_capacity_per_day,
            ruled,
        )
        return DecisionPolicy(review, block, costs, expected_outcome(frame, prob, review, block, label, ruled))
    seller = _sellers(frame[SIDE_COLUMN])
    review, block = _operating_point(
        frame[~seller],
        prob,
        days,
        costs.loss_per_missed_bad_usd,
        costs.review_cost_per_good_usd,
        costs.block_cost_per_good_usd,
        costs.review_capacity_per_day - costs.seller_review_capacity_per_day,
        ruled[~seller],
    )
    seller_review, seller_block = _operating_point(
        frame[seller],
        prob,
        days,
        costs.seller_loss_per_missed_bad_usd,
        costs.seller_review_cost_per_good_usd,
        costs.seller_block_cost_per_good_usd,
        costs.seller_review_capacity_per_day,
        ruled[seller],
    )
    policy = DecisionPolicy(review, block, costs, {}, seller_review, seller_block)
    review_at, block_at = policy.thresholds(frame[SIDE_COLUMN])
    return replace(policy, expected=expected_outcome(frame, prob, review_at, block_at, label, ruled))
