"""A small warehouse to publish from: the small simulation's raw data (ingested for real), plus
a synthetic feature day per as-of day and synthetic scores with chosen bands.

Scores are written the way the scoring asset writes them (under the run's day lease, then the
publication checks of the day recorded under the run's id), so the gate and the sync path see
exactly what they see in production, without training a model.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from ml.monitor.drift import drift_checks, measure_day
from ml.monitor.fallback import trailing_reference
from ml.monitor.reference import TrainingReference
from ml.monitor.thresholds import MonitorThresholds
from ml.score import leases, publication, store
from ml.score.publish import DayOutcome, Override, publish_days
from ml.score.reasons import CONTEXT_ONLY, Reason
from ml.score.rules import DAILY_RULES, rule_features
from ml.score.schema import SCORES_COLUMNS
from ml.score.thresholds import PublicationThresholds
from ml.warehouse.duckdb_engine import DuckDBWarehouse

DAY = date(2026, 3, 20)  # well inside the small simulation (2026-01-01 .. 2026-03-31)
ACCOUNTS = 1000
FEATURES = ["signal", "noise"]  # the world's feature columns (what its tiny champion reads)
BLOCK_SHARE, REVIEW_SHARE = 0.02, 0.05


# What the daily rules read (`ml.score.rules`), at values no rule matches (minimums 0, the
# columns a rule needs known null): no ring, no shill.
KNOWN = {column for rule in DAILY_RULES for column in rule.known}
RULE_COLUMNS = ",\n".join(
    f"cast(null as varchar) as {name}" if name in KNOWN else f"cast(0 as bigint) as {name}"
    for name in rule_features(DAILY_RULES)
)


def build_world(ingested: Path, path: Path, first: date, last: date) -> DuckDBWarehouse:
    """Copy the ingested small simulation and add the feature and staging tables scoring reads."""
    shutil.copy(ingested, path)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            f"""
            create table marts.fct_account_features_daily as
            with accounts as (
                select distinct account_id from raw.accounts order by account_id limit {ACCOUNTS}
            ),
            days as (
                select cast(d as date) as as_of_date
                from range(date '{first}', date '{last}' + interval 1 day, interval 1 day) as t(d)
            )
            select
                account_id,
                as_of_date,
                cast(hash(account_id || 's' || as_of_date) % 1000 as double) / 1000 as signal,
                cast(hash(account_id || 'n' || as_of_date) % 1000 as double) / 1000 as noise,
                {RULE_COLUMNS}
            from accounts cross join days
            """
        )
        con.execute("create schema if not exists staging")
        con.execute(
            "create table staging.stg_marketplace__enforcement_actions as select action_id, account_id,"
            " occurred_at, action, abuse_type, source as action_source, _loaded_at as loaded_at,"
            " _loaded_at as first_loaded_at from raw.enforcement_actions"
        )
    warehouse = DuckDBWarehouse(path)
    store.prepare(warehouse)
    return warehouse


def accounts(warehouse: DuckDBWarehouse, day: date = DAY) -> list[str]:
    return sorted(store.read_features(warehouse, day)["account_id"])


def normal_bands(ids: list[str]) -> dict[str, str]:
    """2% block, 5% review, the rest allow: the first accounts are the flagged ones."""
    blocks, reviews = int(len(ids) * BLOCK_SHARE), int(len(ids) * REVIEW_SHARE)
    return {a: "block" if i < blocks else "review" if i < blocks + reviews else "allow" for i, a in enumerate(ids)}


def new_reviews(ids: list[str], shift: int = 10) -> dict[str, str]:
    """Normal rates, but another set of accounts in review than `normal_bands`: a day with changes."""
    bands = normal_bands(ids)
    flagged = [a for a, band in bands.items() if band == "review"]
    moved = [a for a, band in bands.items() if band == "allow"][:shift]
    return {**bands, **dict.fromkeys(flagged[:shift], "allow"), **dict.fromkeys(moved, "review")}


def scores_frame(day: date, bands: dict[str, str], run_id: str) -> pd.DataFrame:
    frame = pd.DataFrame({"account_id": list(bands), "band": list(bands.values())})
    frame["as_of_date"] = day
    frame["group_id"] = None
    frame["score"] = frame["band"].map({"allow": 0.02, "review": 0.3, "block": 0.8})
    for i in (1, 2, 3):
        frame[f"reason_code_{i}"] = None
        frame[f"reason_text_{i}"] = None
    flagged = frame["band"] != "allow"  # as scoring writes them: every flagged account explained
    frame.loc[flagged, ["reason_code_1", "reason_text_1"]] = ["SIGNAL", "Signal of 0.90"]
    frame = frame.assign(
        model_name="vigil_account_risk", model_version="1", feature_version="f@test", scored_at=now(), run_id=run_id
    )
    return frame[[name for name, _ in SCORES_COLUMNS]]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def score_days(
    warehouse: DuckDBWarehouse,
    days: Iterable[date],
    run_id: str,
    bands_for: Callable[[date], dict[str, str]] | None = None,
    is_stale: Callable[[leases.Lease], bool] | None = None,
) -> dict[date, list]:
    """What the scoring asset does for a run: take the days' leases, write each day's scores
    under the lease, record the day's publication checks. Returns the check results per day."""
    days = list(days)
    stale = is_stale or (lambda lease: leases.holder_is_dead(lease.holder))
    leases.acquire(warehouse, days, run_id, now(), is_stale=stale)
    for day in days:
        bands = bands_for(day) if bands_for else normal_bands(accounts(warehouse, day))
        store.replace_scores(warehouse, day, scores_frame(day, bands, run_id), guards=[leases.held_by(day, run_id)])
    results = publication.check_days(warehouse, days, run_id, PublicationThresholds(), monitored(warehouse, days))
    for day, checked in results.items():
        publication.record_checks(warehouse, day, run_id, checked, now())
    return results


def monitored(
    warehouse: DuckDBWarehouse, days: list[date], reference: TrainingReference | None = None
) -> dict[date, list]:
    """What the scoring asset measures on the feature rows it scored (`ml.monitor.drift`):
    against `reference`, or like a champion without one, the mart's previous days."""
    thresholds = MonitorThresholds()
    fallback = None if reference else trailing_reference(warehouse, days[0], FEATURES, thresholds)
    checks = {}
    for day in days:
        features, scores = store.read_features(warehouse, day), store.read_scores(warehouse, day)
        drift = measure_day(day, features, scores, FEATURES, "1", reference, thresholds, fallback)
        checks[day] = drift_checks(drift, thresholds)
    return checks


def publish(
    warehouse: DuckDBWarehouse,
    days: Iterable[date],
    run_id: str,
    override: Override | None = None,
    is_stale: Callable[[leases.Lease], bool] | None = None,
) -> list[DayOutcome]:
    return publish_days(warehouse, list(days), run_id, now, override=override, is_stale=is_stale)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def rows(warehouse: DuckDBWarehouse, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def published_state(warehouse: DuckDBWarehouse) -> dict[str, list[tuple]]:
    """Everything the sync path writes: the sync table, the decision history, the watermark."""
    return {
        "sync": rows(warehouse, "select * from risk.enforcement_sync order by sync_key"),
        "decisions": rows(warehouse, "select * from risk.enforcement_decisions order by decided_at, account_id"),
        "sync_runs": rows(warehouse, "select * from risk.enforcement_sync_runs order by applied_at"),
    }


def gated_registry(folder: Path, with_reference: bool = False):
    """A local MLflow registry whose `@champion` is a tiny model over the world's features
    (`signal`, `noise`), promoted through the gate's path: evaluation's tags, then promotion.
    `with_reference`: saved with its training reference, as `train_challenger` saves it (the
    world's features are uniform on [0, 1), like the reference's)."""
    import numpy as np

    from ml.lifecycle import promote_challenger
    from ml.monitor.reference import build_reference
    from ml.policy import DecisionPolicy, PolicyCosts
    from ml.registry import ModelRegistry
    from ml.train.model import TrainConfig, train_risk_model

    def frame(n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        bad = rng.random(n) < 0.05
        return pd.DataFrame({"signal": rng.random(n) * 0.6 + 0.4 * bad, "noise": rng.random(n), "is_bad": bad})

    model = train_risk_model(frame(3000, 1), frame(1500, 2), FEATURES, TrainConfig(max_rounds=30, nthread=1))
    policy = DecisionPolicy(0.1, 0.5, PolicyCosts(), {"reviewed_per_day": 3.0})
    reference = None
    if with_reference:
        rng = np.random.default_rng(4)
        uniform = pd.DataFrame({"signal": rng.random(3000), "noise": rng.random(3000)})
        scores = model.predict_proba(frame(1500, 2))
        reference = build_reference(uniform, FEATURES, MonitorThresholds().bins, "test reference", scores, (0.1, 0.5))
    registry = ModelRegistry.from_env(folder)
    with registry.run(run_name="gated") as run_id:
        registry.log_model(model, policy, frame(5, 3), reference)
    registry.client.set_tag(run_id, "gate.decision", "promote")  # what evaluation writes on a pass
    registry.client.set_tag(run_id, "gate.champion_version", "none")
    promote_challenger(registry)
    with registry.run(run_name="never evaluated"):
        registry.log_model(model, policy, frame(5, 3))  # v2: the challenger, not gated
    return registry


def dagster_resources(warehouse: DuckDBWarehouse, registry) -> dict:
    from orchestration.lib.resources import MlflowResource, WarehouseResource

    return {
        "warehouse": WarehouseResource(engine="duckdb", duckdb_path=str(warehouse.path)),
        "mlflow": MlflowResource(tracking_uri=registry.tracking_uri),
    }


# The reasons of the world's features, for scoring with its tiny champion (`world_vocabulary`).
VOCABULARY = {
    "signal": Reason("SIGNAL", "Signal of {signal:.2f}"),
    "noise": Reason("NOISE", "Noise of {noise:.2f}", risky_when=CONTEXT_ONLY),
}
