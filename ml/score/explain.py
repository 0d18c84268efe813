"""Reasons on demand: any scored account's reasons, exactly as scoring would have written them.

Scoring writes reason codes only for the accounts it flags (`REASON_BANDS`); the reasons of any
other account come from here, on demand. For an account and an as-of day this reads the stored
score row, loads the model version named on it from the registry (by version, never by alias:
the champion may have moved since), reads the account's feature row for that day from the
mart (with the rows of its linked group's other members that day, which a group rule reads),
and runs scoring's own `model_inputs`, `reasons_for` and rules on them. It refuses, with the
reason, when it cannot reproduce the stored row: the recomputed score or band differs (the
feature row was rebuilt differently since), or stored reasons differ from the recomputed ones.

    python -m ml.score.explain --account acct_000042 --day 2026-09-30 [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from ml import settings
from ml.policy import SIDE_COLUMN, DecisionPolicy
from ml.registry import ModelRegistry
from ml.score.feature_rows import feature_frame
from ml.score.rules import DAILY_RULES, apply_rules
from ml.score.schema import SCORES_TABLE, risk_schema
from ml.score.scoring import GROUP_OF_FEATURES, REASON_NAMES, as_of_dates, model_inputs, reasons_for
from ml.score.store import features_table
from ml.train.model import RiskModel
from ml.warehouse import Role, Warehouse, warehouse_from_env

log = logging.getLogger(__name__)

# Scores make a float64 round trip through the warehouse; recomputing them from the same row and
# model version gives the same bits, so anything beyond rounding means the inputs changed.
SCORE_TOLERANCE = 1e-9
_IN_LIST_CHUNK = 1000  # bound parameters per `in (...)` list
EXPLAINED_COLUMNS = ["account_id", "as_of_date", "score", "band", "model_name", "model_version", *REASON_NAMES]


class CannotExplain(RuntimeError):
    """The stored score cannot be reproduced, so no explanation of it is given."""


def explain_accounts(features: pd.DataFrame, model: RiskModel, policy: DecisionPolicy) -> pd.DataFrame:
    """Score, band and reason columns of each feature row, reasons for every band: what
    `score_accounts` gives the same rows with `reason_bands=BANDS` (the daily rules' reviews
    with the rule as their reason). Pure; index reset."""
    values = model_inputs(features, model)
    probability = model.predict_proba(values) if len(values) else np.empty(0)
    explained = pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(),
            "as_of_date": as_of_dates(features["as_of_date"]),
            "score": probability,
            "band": policy.band(probability, features.get(SIDE_COLUMN)),
        }
    )
    reasons = reasons_for(values, model)
    for name in REASON_NAMES:
        explained[name] = reasons[name].to_numpy()
    return apply_rules(explained, features, DAILY_RULES)


def _rows_for_accounts(
    warehouse: Warehouse, table: str, day: date, accounts: Sequence[str], column: str = "account_id"
) -> pd.DataFrame:
    """The rows of `table` on `day` whose `column` is one of `accounts`."""
    frames = []
    with warehouse.session() as session:
        for start in range(0, len(accounts), _IN_LIST_CHUNK):
            chunk = list(accounts[start : start + _IN_LIST_CHUNK])
            marks = ", ".join("?" for _ in chunk)
            sql = f"select * from {table} where as_of_date = ? and {column} in ({marks})"
            frames.append(feature_frame(session.fetch_arrow(sql, [day, *chunk])))  # as scoring reads them
    return pd.concat(frames, ignore_index=True)


def _group_mates(warehouse: Warehouse, day: date, features: pd.DataFrame) -> pd.DataFrame:
    """The feature rows on `day` of the other members of the linked groups of `features`' rows:
    a group rule (`ml.score.rules.GroupRule`) decides a member's row from its mates' rows too."""
    groups = features[GROUP_OF_FEATURES].dropna().unique().tolist() if GROUP_OF_FEATURES in features else []
    if not groups:
        return features.iloc[:0]
    rows = _rows_for_accounts(warehouse, features_table(), day, groups, column=GROUP_OF_FEATURES)
    return rows[~rows["account_id"].isin(features["account_id"])]


def _absent(wanted: Sequence[str], found: pd.Series) -> list[str]:
    present = set(found)
    return [a for a in wanted if a not in present]


def _load_version(registry: ModelRegistry, version: str):
    from mlflow.exceptions import MlflowException  # on use: Dagster's definitions load without it

    try:
        return registry.load_version(version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise CannotExplain(
                f"model {registry.model_name} version {version} is not in the registry at {registry.tracking_uri}"
            ) from error
        raise


def _check_reproduces(explained: pd.DataFrame, stored: pd.DataFrame, day: date) -> None:
    """Refuse unless the recomputed rows are the stored rows: same score and band, and the same
    reasons wherever scoring stored reasons."""
    both = explained.merge(stored, on="account_id", suffixes=("", "_stored"), validate="one_to_one")
    moved = ~np.isclose(both["score"], both["score_stored"].astype(float), rtol=0, atol=SCORE_TOLERANCE)
    moved |= both["band"] != both["band_stored"]
    if moved.any():
        sample = both.loc[moved, ["account_id", "score_stored", "score"]].head(5).to_dict("records")
        raise CannotExplain(
            f"{int(moved.sum())} accounts on {day} score differently from their stored score row, e.g. {sample}:"
            f" their feature rows in {features_table()} changed since scoring; re-score the day first"
        )
    had_reasons = both["reason_code_1_stored"].notna()
    differ = np.zeros(len(both), dtype=bool)
    for name in REASON_NAMES:
        differ |= had_reasons & (both[name].fillna("") != both[f"{name}_stored"].fillna("")).to_numpy()
    if differ.any():
        raise CannotExplain(
            f"{int(differ.sum())} accounts on {day} have stored reasons that differ from the recomputed ones, e.g."
            f" {both.loc[differ, 'account_id'].head(5).tolist()}: the reason vocabulary changed since scoring"
        )


def explain_scored(warehouse: Warehouse, registry: ModelRegistry, day: date, accounts: Sequence[str]) -> pd.DataFrame:
    """`EXPLAINED_COLUMNS` for each account scored on `day`, in the order asked, from the model
    version and the feature row that produced its stored score. Raises CannotExplain when an
    account has no stored score or feature row, its model version is gone, or the stored row
    cannot be reproduced."""
    wanted = list(dict.fromkeys(accounts))
    if not wanted:
        raise ValueError("no accounts to explain")
    stored = _rows_for_accounts(warehouse, f"{risk_schema()}.{SCORES_TABLE}", day, wanted)
    unscored = _absent(wanted, stored["account_id"])
    if unscored:
        raise CannotExplain(f"{len(unscored)} accounts have no stored score on {day}: {unscored[:10]}")
    names = set(stored["model_name"])
    if names != {registry.model_name}:
        raise CannotExplain(f"scores on {day} come from {sorted(names)}, the registry holds {registry.model_name}")
    features = _rows_for_accounts(warehouse, features_table(), day, wanted)
    unfeatured = _absent(wanted, features["account_id"])
    if unfeatured:
        raise CannotExplain(
            f"{len(unfeatured)} scored accounts have no row in {features_table()} on {day}: {unfeatured[:10]}"
        )
    mates = _group_mates(warehouse, day, features)
    parts = []
    # A day is scored by one version; group anyway, so a mixed day is explained row by row.
    for version, rows in stored.groupby("model_version", sort=True):
        loaded = _load_version(registry, str(version))
        subset = pd.concat([features[features["account_id"].isin(rows["account_id"])], mates], ignore_index=True)
        explained = explain_accounts(subset, loaded.model, loaded.policy)
        explained = explained[explained["account_id"].isin(rows["account_id"])]
        _check_reproduces(explained, rows, day)
        parts.append(explained.assign(model_name=loaded.name, model_version=loaded.version))
    result = pd.concat(parts, ignore_index=True).set_index("account_id").loc[wanted].reset_index()
    return result[EXPLAINED_COLUMNS]


def format_explanation(row: pd.Series) -> str:
    """A few lines an investigator reads: the stored score, its band and model, the reasons."""
    lines = [
        f"{row['account_id']} on {row['as_of_date']}: score {row['score']:.4f} ({row['band']}),"
        f" {row['model_name']} v{row['model_version']}"
    ]
    slots = [(row[f"reason_code_{i}"], row[f"reason_text_{i}"]) for i in range(1, len(REASON_NAMES) // 2 + 1)]
    reasons = [(code, text) for code, text in slots if isinstance(code, str)]
    lines += [f"  {i}. {code}: {text}" for i, (code, text) in enumerate(reasons, 1)]
    if not reasons:
        lines.append("  no feature pushes this account's score up")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.score.explain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--account", nargs="+", required=True, help="account id(s) scored on --day")
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="as-of day of the score, YYYY-MM-DD")
    parser.add_argument("--json", action="store_true", help="one JSON object per account instead of text")
    args = parser.parse_args(argv)
    registry = ModelRegistry.from_env(settings.data_dir())
    try:
        explained = explain_scored(
            warehouse_from_env(role=Role.SCORER, read_only=True), registry, args.day, args.account
        )
    except CannotExplain as error:
        sys.stderr.write(f"cannot explain: {error}\n")
        return 1
    for _, row in explained.iterrows():
        if args.json:
            record = {k: (None if v is None or v is pd.NA else v) for k, v in row.to_dict().items()}
            sys.stdout.write(json.dumps({**record, "as_of_date": str(record["as_of_date"])}) + "\n")
        else:
            sys.stdout.write(format_explanation(row) + "\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sys.exit(main())
