"""Promotion gate: may a challenger replace the champion?

Both are evaluated on the same test period. The challenger must beat the champion on average
precision and on recall at review capacity by a margin, must not raise the false-positive rate
of any guarded segment beyond a bound, must not lose recall at capacity on any guarded abuse type
(as labelled: a gain overall must not hide a type it stops catching) beyond a bound, and must not
move the daily review/block volume beyond a bound. With no champion yet, it must beat the rules
baseline. An override promotes anyway, and its reason is recorded. Thresholds looser than the
defaults are an override too: refused without a reason, recorded with one.

Promotion writes the gate's pass onto the model version (`gate.*` tags), and scoring verifies
it (`promotion_record_problems`) before it uses the version behind `@champion`: moving the
alias by hand to a version the gate never passed stops scoring before it writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class GateConfig:
    min_average_precision_gain: float = 0.005
    min_recall_at_capacity_gain: float = 0.0
    max_segment_fpr_increase: float = 0.002  # absolute, per guarded segment
    max_type_recall_drop: float = 0.05  # absolute, recall at capacity per guarded abuse type
    max_volume_change: float = 0.25  # relative change of reviewed + blocked per day


# Which direction loosens each bound: a smaller required gain, a larger allowed change.
_LOOSER_WHEN = {
    "min_average_precision_gain": "lower",
    "min_recall_at_capacity_gain": "lower",
    "max_segment_fpr_increase": "higher",
    "max_type_recall_drop": "higher",
    "max_volume_change": "higher",
}


def loosened(config: GateConfig, default: GateConfig | None = None) -> tuple[str, ...]:
    """The bounds `config` sets looser than the defaults, e.g. `max_volume_change 0.25 -> 10`."""
    default = default or GateConfig()
    found = []
    for f in fields(GateConfig):
        ours, theirs = getattr(config, f.name), getattr(default, f.name)
        looser = ours < theirs if _LOOSER_WHEN[f.name] == "lower" else ours > theirs
        if looser:
            found.append(f"{f.name} {theirs:g} -> {ours:g}")
    return tuple(found)


@dataclass(frozen=True)
class Evaluation:
    """What the gate reads about one model on the test period."""

    average_precision: float
    recall_at_capacity: float
    segment_fpr: dict[str, float] = field(default_factory=dict)
    actions_per_day: float = 0.0  # reviewed + blocked
    recall_by_type: dict[str, float] = field(default_factory=dict)  # recall at capacity per guarded abuse type


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    overridden: bool = False


def _worse(
    before: Mapping[str, float], after: Mapping[str, float], direction: int, bound: float
) -> list[tuple[str, float, float]]:
    """(key, before, after) for each key measured both times that moved in `direction` (+1 up,
    -1 down: the harmful way) by more than `bound`."""
    return [
        (key, before[key], value)
        for key, value in sorted(after.items())
        if key in before and direction * (value - before[key]) > bound
    ]


def decide_promotion(
    challenger: Evaluation,
    champion: Evaluation | None,
    rules_baseline: Evaluation,
    config: GateConfig,
    override_reason: str | None = None,
) -> GateDecision:
    """Every failed condition is listed; promotion needs none (or an explicit override).
    Thresholds looser than the defaults need an override reason even when nothing fails."""
    failures: list[str] = []
    loose = loosened(config)
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
        failures += [
            f"false-positive rate of segment {segment!r} rises {before:.4f} -> {fpr:.4f}"
            f" (bound +{config.max_segment_fpr_increase})"
            for segment, before, fpr in _worse(
                champion.segment_fpr, challenger.segment_fpr, +1, config.max_segment_fpr_increase
            )
        ]
        failures += [
            f"recall at capacity of abuse type {kind!r} falls {before:.4f} -> {recall:.4f}"
            f" (bound -{config.max_type_recall_drop})"
            for kind, before, recall in _worse(
                champion.recall_by_type, challenger.recall_by_type, -1, config.max_type_recall_drop
            )
        ]
        if champion.actions_per_day > 0:
            change = abs(challenger.actions_per_day - champion.actions_per_day) / champion.actions_per_day
            if change > config.max_volume_change:
                failures.append(
                    f"daily review+block volume moves {champion.actions_per_day:.1f}"
                    f" -> {challenger.actions_per_day:.1f} ({change:.0%} > {config.max_volume_change:.0%})"
                )
    if (failures or loose) and override_reason:
        looser = tuple(f"thresholds loosened: {bound}" for bound in loose)
        return GateDecision(True, (f"override: {override_reason}", *looser, *failures), overridden=True)
    if loose:
        failures.insert(0, f"thresholds loosen the defaults ({'; '.join(loose)}): only with an override_reason")
    return GateDecision(not failures, tuple(failures) or ("passes every condition",))


# Tags promotion writes on the model version (and evaluation on its run), read by scoring.
DECISION_TAG = "gate.decision"
EVALUATION_RUN_TAG = "gate.evaluation_run_id"
OVERRIDDEN_TAG = "gate.overridden"
OVERRIDE_REASON_TAG = "gate.override_reason"
PROMOTE = "promote"


def promotion_record_problems(
    version: str, version_run_id: str, version_tags: Mapping[str, str], evaluation_run_tags: Mapping[str, str]
) -> list[str]:
    """Why a model version may not score (empty when the gate passed it, or a recorded override
    did): its version tags must carry the gate's pass, written by promotion, and name the
    evaluation run of this very version, whose own tags must say the gate passed it."""
    problems = []
    if version_tags.get(DECISION_TAG) != PROMOTE:
        problems.append(
            f"v{version} carries no gate pass ({DECISION_TAG}={version_tags.get(DECISION_TAG)!r}):"
            " it was not promoted by ml/champion_model"
        )
    evaluation = version_tags.get(EVALUATION_RUN_TAG)
    if evaluation != version_run_id:
        problems.append(f"v{version}'s gate record names evaluation run {evaluation!r}, not its run {version_run_id}")
    elif evaluation_run_tags.get(DECISION_TAG) != PROMOTE:
        problems.append(
            f"the evaluation run {evaluation} of v{version} did not pass the gate"
            f" ({DECISION_TAG}={evaluation_run_tags.get(DECISION_TAG)!r})"
        )
    if version_tags.get(OVERRIDDEN_TAG) == "true" and not version_tags.get(OVERRIDE_REASON_TAG, "").strip():
        problems.append(f"v{version} was promoted by an override without a recorded reason")
    return problems
