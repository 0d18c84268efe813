"""Train -> evaluate -> promote, as three steps over a saved training set and the registry.

Each step is what one Dagster asset does; the assets only pass config in and metadata out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ml.evaluate.baselines import STARTER_RULES, fit_logistic_baseline, logistic_score, rules_score
from ml.evaluate.report import BlockReport, ScoredModel, evaluate_block
from ml.gate import (
    DECISION_TAG,
    EVALUATION_RUN_TAG,
    OVERRIDDEN_TAG,
    OVERRIDE_REASON_TAG,
    PROMOTE,
    GateConfig,
    GateDecision,
    decide_promotion,
    loosened,
)
from ml.monitor.reference import TrainingReference, build_reference
from ml.monitor.thresholds import MonitorThresholds
from ml.policy import SIDE_COLUMN, DecisionPolicy, PolicyCosts, choose_policy
from ml.registry import CHALLENGER, CHAMPION, ModelRegistry, RegisteredModel
from ml.score.rules import DAILY_RULES, matched
from ml.train.model import RiskModel, TrainConfig, train_risk_model
from ml.train.training_set import TrainingSet

LINEAGE_PREFIX = "lineage_"
SHAP_SAMPLE_ROWS = 3_000


@dataclass(frozen=True)
class TrainedChallenger:
    version: str
    run_id: str
    model: RiskModel
    policy: DecisionPolicy


def train_challenger(
    training_set: TrainingSet,
    registry: ModelRegistry,
    config: TrainConfig,
    costs: PolicyCosts,
    tags: dict[str, str],
) -> TrainedChallenger:
    """Fit on train (early stopping and calibration on validation), choose the decision policy
    on validation, and log everything with the model as the new `challenger` version, with the
    training reference its drift checks will compare with."""
    import mlflow  # on use: Dagster's definitions load without it

    train, valid = training_set.block("train"), training_set.block("validation")
    model = train_risk_model(train, valid, training_set.features, config)
    scored = valid.assign(probability=model.predict_proba(valid))
    policy = choose_policy(scored, "probability", costs, review_anyway=matched(valid, DAILY_RULES))
    reference = training_reference(training_set, scored["probability"].to_numpy(), policy)
    lineage = training_set.lineage()
    with registry.run(run_name=f"train {lineage['as_of_first']}..{lineage['as_of_last']}", tags=tags) as run_id:
        mlflow.log_params({f"train_{k}": v for k, v in asdict(config).items()})
        mlflow.log_params(training_set.split.as_params())
        mlflow.log_params({f"{LINEAGE_PREFIX}{k}": v for k, v in lineage.items()})
        mlflow.log_params(policy.as_params())
        mlflow.log_params({"weighting": model.weighting, "best_iteration": model.best_iteration})
        mlflow.set_tag(
            "weighting_reason",
            f"kept {model.weighting!r}: validation average precision "
            + ", ".join(f"{k} {v:.4f}" for k, v in model.validation_average_precision.items()),
        )
        mlflow.log_metrics(
            {f"validation.average_precision.{k}": v for k, v in model.validation_average_precision.items()}
        )
        mlflow.log_metrics({f"validation.policy.{k}": v for k, v in policy.expected.items()})
        mlflow.log_dict({"features": training_set.features}, "features.json")
        mlflow.set_tag("monitoring.reference", reference.source)
        version = registry.log_model(model, policy, train.head(5), reference)
    return TrainedChallenger(version=version, run_id=run_id, model=model, policy=policy)


def training_reference(
    training_set: TrainingSet, validation_probability: np.ndarray, policy: DecisionPolicy
) -> TrainingReference:
    """What drift is measured against: the features of the training block and the calibrated
    scores (with the policy's band rates) of the validation block (`ml.monitor.reference`)."""
    train, validation = training_set.block("train"), training_set.block("validation")
    days = pd.to_datetime(train["as_of_date"])
    source = (
        f"features: train block {days.min().date()}..{days.max().date()} ({len(train):,} rows);"
        f" score: validation block ({len(validation_probability):,} rows)"
    )
    return build_reference(
        train,
        training_set.features,
        MonitorThresholds().bins,
        source,
        scores=validation_probability,
        thresholds=(policy.review_threshold, policy.block_threshold),
        bands=policy.band(validation_probability, validation.get(SIDE_COLUMN), matched(validation, DAILY_RULES)),
    )


@dataclass(frozen=True)
class EvaluationOutcome:
    challenger_version: str
    champion_version: str | None
    report: BlockReport
    decision: GateDecision
    plot_dir: Path
    run_id: str


def evaluate_challenger(
    training_set: TrainingSet,
    registry: ModelRegistry,
    gate: GateConfig,
    plot_dir: Path,
    ground_truth: pd.DataFrame | None = None,
    override_reason: str | None = None,
    seed: int = TrainConfig.seed,
) -> EvaluationOutcome:
    """Score the test block with the challenger, the champion (if any) and the baselines fitted
    in this run; log metrics and plots to the challenger's run; decide on promotion.

    Capacity metrics use the review capacity of the challenger's decision policy.
    """
    challenger = registry.load(CHALLENGER)
    if challenger is None:
        raise LookupError(f"no `{CHALLENGER}` version of {registry.model_name}: materialize risk_model first")
    logged_hash = registry.client.get_run(challenger.run_id).data.params.get(f"{LINEAGE_PREFIX}sha256")
    if logged_hash != training_set.fingerprint():
        raise ValueError(
            f"challenger v{challenger.version} was trained on training set {logged_hash}, not the current one"
            f" ({training_set.fingerprint()}): retrain before evaluating"
        )
    champion = registry.load(CHAMPION)
    review_capacity = challenger.policy.costs.review_capacity_per_day
    train, test = training_set.block("train"), training_set.block("test")
    features = training_set.features
    logistic = fit_logistic_baseline(train, features, seed=seed)
    scores = {"rules": rules_score(test, STARTER_RULES), "logistic": logistic_score(logistic, test, features)}
    models = {"challenger": _scored(challenger, test)}
    if champion is not None and champion.version != challenger.version:
        models["champion"] = _scored(champion, test)
    report = evaluate_block(
        test, scores, models, review_capacity, ground_truth, review_anyway=matched(test, DAILY_RULES)
    )

    if champion is not None and champion.version == challenger.version:
        decision = GateDecision(False, (f"v{challenger.version} is already the champion",))
    else:
        decision = decide_promotion(
            challenger=report.gate_evaluation("challenger"),
            champion=report.gate_evaluation("champion") if "champion" in models else None,
            rules_baseline=report.gate_evaluation("rules"),
            config=gate,
            override_reason=override_reason,
        )

    import mlflow  # on use: Dagster's definitions load without it

    plot_dir.mkdir(parents=True, exist_ok=True)
    files = _write_plots(plot_dir, test, scores, models, challenger.model)
    already_champion = champion is not None and champion.version == challenger.version
    with registry.run(run_id=challenger.run_id):
        mlflow.log_metrics(report.flat_metrics())
        for file in files:
            mlflow.log_artifact(str(file), "evaluation")
        mlflow.log_dict(_report_dict(report, decision), "evaluation/report.json")
        # The champion's own run keeps the decision that promoted it: scoring verifies it.
        if not already_champion:
            # Tags, not params: a re-evaluation with other bounds must be able to overwrite them.
            mlflow.set_tags({f"gate.config.{k}": str(v) for k, v in asdict(gate).items()})
            mlflow.set_tags(
                {
                    DECISION_TAG: PROMOTE if decision.promote else "refuse",
                    "gate.reasons": " | ".join(decision.reasons)[:5000],
                    "gate.champion_version": champion.version if champion else "none",
                    OVERRIDDEN_TAG: str(decision.overridden).lower(),
                    OVERRIDE_REASON_TAG: override_reason or "",
                    "gate.loosened": "; ".join(loosened(gate)),
                }
            )
    return EvaluationOutcome(
        challenger_version=challenger.version,
        champion_version=champion.version if champion else None,
        report=report,
        decision=decision,
        plot_dir=plot_dir,
        run_id=challenger.run_id,
    )


def _scored(registered: RegisteredModel, frame: pd.DataFrame) -> ScoredModel:
    raw = registered.model.predict_raw(frame)
    return ScoredModel(raw=raw, probability=registered.model.calibration.predict(raw), policy=registered.policy)


def _write_plots(
    folder: Path, test: pd.DataFrame, scores: dict[str, np.ndarray], models: dict[str, ScoredModel], model: RiskModel
) -> list[Path]:
    from ml.evaluate import plots  # on use: Dagster's definitions load without it (matplotlib)

    labels = test["is_bad"].to_numpy(bool)
    probabilities = {name: m.probability for name, m in models.items()}
    challenger = models["challenger"]
    sample = test.sample(n=min(SHAP_SAMPLE_ROWS, len(test)), random_state=0)
    return [
        plots.pr_and_roc_curves(
            labels, {**{name: m.raw for name, m in models.items()}, **scores}, folder / "pr_roc_curves.png"
        ),
        plots.calibration_plot(labels, {**probabilities, "logistic": scores["logistic"]}, folder / "calibration.png"),
        plots.score_distributions(
            labels,
            challenger.probability,
            {"review": challenger.policy.review_threshold, "block": challenger.policy.block_threshold},
            folder / "score_distributions.png",
        ),
        plots.feature_importance(model.gain_importance(), folder / "feature_importance.png"),
        plots.shap_summary(model.contributions(sample), sample[model.features], folder / "shap_summary.png"),
    ]


def _report_dict(report: BlockReport, decision: GateDecision) -> dict[str, object]:
    return {
        "rows": report.rows,
        "bad_rows": report.bad_rows,
        "days": report.days,
        "metrics": report.metrics,
        "segment_fpr": report.segment_fpr,
        "recall_by_abuse_type": report.recall_by_abuse_type,
        "recall_after_onset": report.recall_after_onset,
        "onset_share": report.onset_share,
        "truth_recall_after_onset": report.truth_recall_after_onset,
        "truth_queue_per_day": report.truth_queue_per_day,
        "recall_by_labelled_type": report.recall_by_labelled_type,
        "sides": report.sides,
        "truth_sides": report.truth_sides,
        "outcome_per_day": report.outcome_per_day,
        "gate": {"promote": decision.promote, "overridden": decision.overridden, "reasons": list(decision.reasons)},
    }


def promote_challenger(registry: ModelRegistry) -> str:
    """Make the current challenger the champion, if the gate passed it against the current
    champion. The decision is read back from the challenger's run, where evaluation logged it."""
    version = registry.version_of(CHALLENGER)
    if version is None:
        raise LookupError(f"no `{CHALLENGER}` version of {registry.model_name} to promote")
    model_version = registry.client.get_model_version(registry.model_name, version)
    tags = registry.client.get_run(model_version.run_id).data.tags
    if tags.get(DECISION_TAG) != PROMOTE:
        raise ValueError(
            f"v{version} was not passed by the gate ({tags.get('gate.decision', 'not evaluated')}):"
            f" {tags.get('gate.reasons', 'materialize model_evaluation first')}"
        )
    champion = registry.version_of(CHAMPION) or "none"
    if tags.get("gate.champion_version") != champion:
        raise ValueError(
            f"v{version} was compared with champion {tags.get('gate.champion_version')}, but the champion is now"
            f" {champion}: evaluate again"
        )
    registry.promote(
        version,
        {
            "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "promoted_over": f"v{champion}" if champion != "none" else "rules baseline",
            "gate_reasons": tags.get("gate.reasons", ""),
            "gate_override_reason": tags.get(OVERRIDE_REASON_TAG, ""),
            # The gate's pass, on the version itself: what scoring verifies before using it.
            DECISION_TAG: PROMOTE,
            EVALUATION_RUN_TAG: model_version.run_id,
            OVERRIDDEN_TAG: tags.get(OVERRIDDEN_TAG, "false"),
            OVERRIDE_REASON_TAG: tags.get(OVERRIDE_REASON_TAG, ""),
        },
    )
    return version
