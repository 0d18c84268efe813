"""Promotion gate: may a challenger replace the champion?

Both are evaluated on the same test period. The challenger must beat the champion on average
precision and on recall at review capacity by a margin, must not raise the false-positive rate
of any guarded segment beyond a bound, and must not move the daily review/block volume beyond a
bound. With no champion yet, it must beat the rules baseline. An override promotes anyway, and
its reason is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GateConfig:
    min_average_precision_gain: float = 0.005
    min_recall_at_capacity_gain: float = 0.0
    max_segment_fpr_increase: float = 0.002  # absolute, per guarded segment
    max_volume_change: float = 0.25  # relative change of reviewed + blocked per day


@dataclass(frozen=True)
class Evaluation:
    """What the gate reads about one model on the test period."""

    average_precision: float
    recall_at_capacity: float
    segment_fpr: dict[str, float] = field(default_factory=dict)
    actions_per_day: float = 0.0  # reviewed + blocked


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    overridden: bool = False


def decide_promotion(
    challenger: Evaluation,
    champion: Evaluation | None,
    rules_baseline: Evaluation,
    config: GateConfig,
    override_reason: str | None = None,
) -> GateDecision:
    """Every failed condition is listed; promotion needs none (or an explicit override)."""
    failures: list[str] = []
    if champion is None:
        if challenger.average_precision <= rules_baseline.average_precision:
            failures.append(
                f"first model: average precision {challenger.average_precision:.4f} does not beat the rules"
                f" baseline {rules_baseline.average_precision:.4f}"
            )
        if challenger.recall_at_capacity < rules_baseline.recall_at_capacity:
            failures.append(
                f"first model: recall at capacity {challenger.recall_at_capacity:.4f} is below the rules"
                f" baseline {rules_baseline.recall_at_capacity:.4f}"
            )
    else:
        ap_gain = challenger.average_precision - champion.average_precision
        if ap_gain < config.min_average_precision_gain:
            failures.append(f"average precision gain {ap_gain:+.4f} < {config.min_average_precision_gain}")
        recall_gain = challenger.recall_at_capacity - champion.recall_at_capacity
        if recall_gain < config.min_recall_at_capacity_gain:
            failures.append(f"recall at capacity gain {recall_gain:+.4f} < {config.min_recall_at_capacity_gain}")
        for segment, fpr in sorted(challenger.segment_fpr.items()):
            before = champion.segment_fpr.get(segment)
            if before is not None and fpr - before > config.max_segment_fpr_increase:
                failures.append(
                    f"false-positive rate of segment {segment!r} rises {before:.4f} -> {fpr:.4f}"
                    f" (bound +{config.max_segment_fpr_increase})"
                )
        if champion.actions_per_day > 0:
            change = abs(challenger.actions_per_day - champion.actions_per_day) / champion.actions_per_day
            if change > config.max_volume_change:
                failures.append(
                    f"daily review+block volume moves {champion.actions_per_day:.1f}"
                    f" -> {challenger.actions_per_day:.1f} ({change:.0%} > {config.max_volume_change:.0%})"
                )
    if failures and override_reason:
        return GateDecision(True, (f"override: {override_reason}", *failures), overridden=True)
    return GateDecision(not failures, tuple(failures) or ("passes every condition",))
