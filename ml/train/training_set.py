"""The training set: labelled snapshots split out of time, saved as one Parquet file with its
split and lineage beside it, so training and evaluation read exactly the same rows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from ml.evaluate.metrics import QUEUE_GROUP
from ml.score.rules import DAILY_RULES, rule_features
from ml.train.dataset import frame_fingerprint, labelled_history, load_labelled_snapshots, model_feature_columns
from ml.train.split import OutOfTimeSplit, SplitConfig, plan_split
from ml.warehouse import Warehouse

# Not model inputs; read for the evaluation's segments (new vs tenured, buyer vs seller, country),
# for its review items (a linked group's flagged members are one item: QUEUE_GROUP) and for the
# daily rules the policy and the evaluation apply (`ml.score.rules`).
EVALUATION_COLUMNS = ("account_age_days", "is_seller", "country_code", QUEUE_GROUP, *rule_features(DAILY_RULES))
FRAME_FILE = "training_set.parquet"
SPEC_FILE = "training_set.json"


@dataclass
class TrainingSet:
    frame: pd.DataFrame  # one row per sampled account-day, with a `block` column
    split: OutOfTimeSplit
    features: list[str]

    def block(self, name: str) -> pd.DataFrame:
        return self.frame[self.frame["block"] == name]

    def fingerprint(self) -> str:
        return frame_fingerprint(self.frame)

    def lineage(self) -> dict[str, object]:
        """As-of range, row counts and the frame's hash: what a model was trained on."""
        counts = self.frame.groupby("block", observed=True)["is_bad"].agg(["size", "sum"])
        lineage: dict[str, object] = {
            "as_of_first": str(self.frame["as_of_date"].min().date()),
            "as_of_last": str(self.frame["as_of_date"].max().date()),
            "rows": len(self.frame),
            "features": len(self.features),
            "sha256": self.fingerprint(),
        }
        for block, row in counts.iterrows():
            lineage[f"{block}_rows"] = int(row["size"])
            lineage[f"{block}_bad_rows"] = int(row["sum"])
        return lineage

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.frame.to_parquet(folder / FRAME_FILE, index=False)
        spec = {"split": {k: str(v) if isinstance(v, date) else v for k, v in asdict(self.split).items()}}
        spec["features"] = self.features
        spec["sha256"] = self.fingerprint()
        (folder / SPEC_FILE).write_text(json.dumps(spec, indent=2))

    @classmethod
    def load(cls, folder: Path) -> TrainingSet:
        if not (folder / SPEC_FILE).exists():
            raise FileNotFoundError(f"no training set in {folder}: materialize the training_set asset first")
        spec = json.loads((folder / SPEC_FILE).read_text())
        split = OutOfTimeSplit(
            **{k: date.fromisoformat(v) if isinstance(v, str) else v for k, v in spec["split"].items()}
        )
        loaded = cls(pd.read_parquet(folder / FRAME_FILE), split, list(spec["features"]))
        if loaded.fingerprint() != spec["sha256"]:
            raise ValueError(f"{folder / FRAME_FILE} does not match the hash in {SPEC_FILE}: rebuild the training set")
        return loaded


def build_training_set(
    warehouse: Warehouse, marts_yml: Path, split_config: SplitConfig, train_every_n_days: int
) -> TrainingSet:
    """Plan the split over the labelled history and load its blocks from the warehouse."""
    features = model_feature_columns(marts_yml)
    split = plan_split(*labelled_history(warehouse), split_config)
    frame = load_labelled_snapshots(warehouse, features, split, train_every_n_days, EVALUATION_COLUMNS)
    for block in ("train", "validation", "test"):
        labels = frame.loc[frame["block"] == block, "is_bad"]
        if labels.nunique() < 2:
            raise ValueError(
                f"the {block} block ({len(labels)} rows) needs both bad and good snapshots; split: {split}"
            )
    return TrainingSet(frame, split, features)
