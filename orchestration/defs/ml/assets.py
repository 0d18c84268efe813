"""Training set -> risk model -> evaluation (+ blocking promotion gate) -> champion.

Thin adapters over `ml.lifecycle`: config in, metadata out. The assets hand over through files
and the MLflow registry, not Dagster IO managers: the training set is a Parquet file under the
data folder, the model a registered version behind the `challenger` alias.
"""

import base64
from pathlib import Path

import dagster as dg
import yaml
from dagster_dbt import get_asset_key_for_model

from ml import settings
from ml.evaluate.report import load_ground_truth
from ml.gate import GateConfig
from ml.lifecycle import evaluate_challenger, promote_challenger, train_challenger
from ml.policy import PolicyCosts
from ml.train.model import TrainConfig
from ml.train.split import SplitConfig
from ml.train.training_set import TrainingSet, build_training_set
from ml.warehouse import Role
from orchestration.defs.dbt.assets import FEATURES_MODEL, LABELS_MODEL, vigil_dbt_features_daily, vigil_dbt_labels
from orchestration.defs.dbt.project import DBT_PROJECT_DIR
from orchestration.lib.resources import WAREHOUSE_POOL, MlflowResource, WarehouseResource

GROUP = "ml"
MARTS_YML = DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml"
GATE_CHECK = "promotion_gate"


def _label_horizon_days() -> int:
    """The label definition's horizon, read from the dbt project so the split cannot disagree."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return int(project["vars"]["label_horizon_days"])


class TrainingSetConfig(dg.Config):
    gap_days: int = SplitConfig.gap_days
    validation_days: int = SplitConfig.validation_days
    test_days: int = SplitConfig.test_days
    min_train_days: int = SplitConfig.min_train_days
    train_every_n_days: int = 7


class RiskModelConfig(dg.Config):
    """Model hyper-parameters and the decision policy's stated costs."""

    seed: int = TrainConfig.seed
    max_rounds: int = TrainConfig.max_rounds
    early_stopping_rounds: int = TrainConfig.early_stopping_rounds
    learning_rate: float = TrainConfig.learning_rate
    max_depth: int = TrainConfig.max_depth
    loss_per_missed_bad_usd: float = PolicyCosts.loss_per_missed_bad_usd
    review_cost_per_good_usd: float = PolicyCosts.review_cost_per_good_usd
    block_cost_per_good_usd: float = PolicyCosts.block_cost_per_good_usd
    review_capacity_per_day: int = PolicyCosts.review_capacity_per_day
    seller_loss_per_missed_bad_usd: float = PolicyCosts.seller_loss_per_missed_bad_usd
    seller_review_cost_per_good_usd: float = PolicyCosts.seller_review_cost_per_good_usd
    seller_block_cost_per_good_usd: float = PolicyCosts.seller_block_cost_per_good_usd
    seller_review_capacity_share: float = PolicyCosts.seller_review_capacity_share


class EvaluationConfig(dg.Config):
    """Promotion margins and bounds; `override_reason` promotes a refused challenger anyway and
    is recorded on the MLflow run and the model version."""

    min_average_precision_gain: float = GateConfig.min_average_precision_gain
    min_recall_at_capacity_gain: float = GateConfig.min_recall_at_capacity_gain
    max_segment_fpr_increase: float = GateConfig.max_segment_fpr_increase
    max_type_recall_drop: float = GateConfig.max_type_recall_drop
    max_volume_change: float = GateConfig.max_volume_change
    override_reason: str | None = None


@dg.asset(
    key=["ml", "training_set"],
    group_name=GROUP,
    kinds={"python", "parquet"},
    # A reader of the DuckDB file cannot open it while another process writes it.
    pool=WAREHOUSE_POOL,
    deps=[
        get_asset_key_for_model([vigil_dbt_features_daily], FEATURES_MODEL),
        get_asset_key_for_model([vigil_dbt_labels], LABELS_MODEL),
    ],
)
def training_set(context: dg.AssetExecutionContext, config: TrainingSetConfig, warehouse: WarehouseResource):
    """Final-labelled feature snapshots, split out of time: train | gap | validation | gap | test."""
    split_config = SplitConfig(
        label_horizon_days=_label_horizon_days(),
        gap_days=config.gap_days,
        validation_days=config.validation_days,
        test_days=config.test_days,
        min_train_days=config.min_train_days,
    )
    marts = warehouse.get(role=Role.SCORER, read_only=True)
    built = build_training_set(marts, MARTS_YML, split_config, config.train_every_n_days)
    built.save(settings.training_set_dir())
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.text(str(v)) for k, v in built.split.as_params().items()},
            **built.lineage(),
            "path": dg.MetadataValue.path(str(settings.training_set_dir())),
        }
    )


@dg.asset(key=["ml", "risk_model"], group_name=GROUP, kinds={"xgboost", "mlflow"}, deps=[training_set])
def risk_model(context: dg.AssetExecutionContext, config: RiskModelConfig, mlflow: MlflowResource):
    """XGBoost fitted on the training block, calibrated on validation, registered as `challenger`."""
    train_config = TrainConfig(
        seed=config.seed,
        max_rounds=config.max_rounds,
        early_stopping_rounds=config.early_stopping_rounds,
        learning_rate=config.learning_rate,
        max_depth=config.max_depth,
    )
    costs = PolicyCosts(
        loss_per_missed_bad_usd=config.loss_per_missed_bad_usd,
        review_cost_per_good_usd=config.review_cost_per_good_usd,
        block_cost_per_good_usd=config.block_cost_per_good_usd,
        review_capacity_per_day=config.review_capacity_per_day,
        seller_loss_per_missed_bad_usd=config.seller_loss_per_missed_bad_usd,
        seller_review_cost_per_good_usd=config.seller_review_cost_per_good_usd,
        seller_block_cost_per_good_usd=config.seller_block_cost_per_good_usd,
        seller_review_capacity_share=config.seller_review_capacity_share,
    )
    registry = mlflow.registry()
    trained = train_challenger(
        TrainingSet.load(settings.training_set_dir()),
        registry,
        train_config,
        costs,
        tags={"dagster_run_id": context.run.run_id, "dagster_job": context.job_name},
    )
    return dg.MaterializeResult(
        metadata={
            "model": f"{registry.model_name} v{trained.version} (alias challenger)",
            "mlflow_run_id": trained.run_id,
            "mlflow_tracking_uri": registry.display_uri,
            "weighting": trained.model.weighting,
            "best_iteration": trained.model.best_iteration,
            "review_threshold": trained.policy.review_threshold,
            "block_threshold": trained.policy.block_threshold,
            "seller_review_threshold": trained.policy.seller_review_threshold,
            "seller_block_threshold": trained.policy.seller_block_threshold,
            **{f"validation_{k}": float(v) for k, v in trained.policy.expected.items()},
        }
    )


def _markdown_table(metrics: dict[str, dict[str, float]]) -> str:
    names = list(metrics)
    keys = list(dict.fromkeys(k for m in metrics.values() for k in m))
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key in keys:
        cells = [f"{metrics[n][key]:.4f}" if key in metrics[n] else "" for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _by_side(sides: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """model -> side -> measure as one table: a column per model, a row per side and measure."""
    return {
        model: {f"{side}.{measure}": value for side, measures in by_side.items() for measure, value in measures.items()}
        for model, by_side in sides.items()
    }


def _embedded_png(path: Path) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})")


@dg.asset(
    key=["ml", "model_evaluation"],
    group_name=GROUP,
    kinds={"python", "mlflow"},
    deps=[risk_model],
    check_specs=[
        dg.AssetCheckSpec(
            GATE_CHECK,
            asset=["ml", "model_evaluation"],
            blocking=True,
            description="The challenger may replace the champion (or, with none, beats the rules baseline).",
        )
    ],
)
def model_evaluation(context: dg.AssetExecutionContext, config: EvaluationConfig, mlflow: MlflowResource):
    """Challenger, champion and baselines on the untouched test block; the gate's decision."""
    registry = mlflow.registry()
    gate = GateConfig(
        min_average_precision_gain=config.min_average_precision_gain,
        min_recall_at_capacity_gain=config.min_recall_at_capacity_gain,
        max_segment_fpr_increase=config.max_segment_fpr_increase,
        max_type_recall_drop=config.max_type_recall_drop,
        max_volume_change=config.max_volume_change,
    )
    challenger_version = registry.version_of("challenger")
    outcome = evaluate_challenger(
        TrainingSet.load(settings.training_set_dir()),
        registry,
        gate=gate,
        plot_dir=settings.data_dir() / "ml" / "evaluation" / f"v{challenger_version}",
        ground_truth=load_ground_truth(settings.ground_truth_dir()),
        override_reason=config.override_reason,
    )
    if outcome.decision.overridden:
        context.log.warning(f"promotion gate overridden: {config.override_reason}")
    report, plots = outcome.report, outcome.plot_dir
    yield dg.MaterializeResult(
        metadata={
            "challenger_version": outcome.challenger_version,
            "champion_version": outcome.champion_version or "none",
            "test_rows": report.rows,
            "test_bad_rows": report.bad_rows,
            "test_days": report.days,
            "metrics": dg.MetadataValue.md(_markdown_table(report.metrics)),
            "segment_false_positive_rates": dg.MetadataValue.md(_markdown_table(report.segment_fpr)),
            "recall_by_abuse_type": dg.MetadataValue.md(_markdown_table(report.recall_by_abuse_type)),
            "recall_after_onset": dg.MetadataValue.md(
                _markdown_table({**report.recall_after_onset, "share of bad rows after onset": report.onset_share})
            ),
            "recall_by_labelled_type": dg.MetadataValue.md(_markdown_table(report.recall_by_labelled_type)),
            "truth_recall_after_onset": dg.MetadataValue.md(_markdown_table(report.truth_recall_after_onset)),
            "truth_queue_per_day": dg.MetadataValue.md(_markdown_table(report.truth_queue_per_day)),
            "policy_by_side": dg.MetadataValue.md(_markdown_table(_by_side(report.sides))),
            "policy_by_side_truth": dg.MetadataValue.md(_markdown_table(_by_side(report.truth_sides))),
            "policy_outcome_per_day": dg.MetadataValue.md(_markdown_table(report.outcome_per_day)),
            "pr_roc_curves": _embedded_png(plots / "pr_roc_curves.png"),
            "mlflow_run_id": outcome.run_id,
            **{f"challenger_{k}": v for k, v in report.metrics["challenger"].items()},
        }
    )
    yield dg.AssetCheckResult(
        check_name=GATE_CHECK,
        passed=outcome.decision.promote,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "decision": "promote" if outcome.decision.promote else "refuse",
            "overridden": outcome.decision.overridden,
            "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in outcome.decision.reasons)),
            "compared_with": f"champion v{outcome.champion_version}" if outcome.champion_version else "rules baseline",
        },
    )


@dg.asset(key=["ml", "champion_model"], group_name=GROUP, kinds={"mlflow"}, deps=[model_evaluation])
def champion_model(context: dg.AssetExecutionContext, mlflow: MlflowResource):
    """Moves the `champion` alias to the challenger the gate passed; scoring loads only `@champion`."""
    registry = mlflow.registry()
    version = promote_challenger(registry)
    return dg.MaterializeResult(
        metadata={
            "champion": f"{registry.model_name} v{version}",
            "model_uri": f"models:/{registry.model_name}@champion",
        }
    )
