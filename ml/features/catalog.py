"""The feature catalog: `dbt_project/FEATURES.md`, rendered from the marts yml.

The yml beside the feature mart is the single source of truth for what each column means: every
column carries `config.meta` with `family`, `window` and `unit`. This module turns it into a
markdown page for people choosing or reviewing features, and `--check` keeps the page in step.

    uv run python -m ml.features.catalog           # rewrite dbt_project/FEATURES.md
    uv run python -m ml.features.catalog --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ml.generated_doc import display, table_cell, write_or_check

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
MODELS_YML_IN_PROJECT = "models/marts/_marts__models.yml"
DEFAULT_MODELS_YML = DBT_PROJECT_DIR / MODELS_YML_IN_PROJECT
DEFAULT_OUTPUT = DBT_PROJECT_DIR / "FEATURES.md"

FEATURE_MODEL = "fct_account_features_daily"

# Fixed order of the catalog's sections (the order the mart's SQL reads in), with headings.
FAMILIES: dict[str, str] = {
    "identity_tenure": "Identity and tenure",
    "activity": "Activity",
    "payments": "Payments",
    "buying_velocity": "Buying velocity",
    "login_takeover": "Logins and account takeover",
    "bidding": "Bidding",
    "seller_behaviour": "Seller behaviour",
    "enforcement_history": "Own enforcement history",
    "network": "Network (linked accounts)",
}

UNITS: dict[str, str] = {
    "count": "a whole number of things",
    "usd": "US dollars",
    "days": "whole days",
    "hours": "hours",
    "share_0_1": "a share between 0 and 1, null when its denominator is 0",
    "ratio": "an unbounded ratio, null when its denominator is 0",
    "boolean": "true/false",
    "iso2": "ISO 3166-1 alpha-2 country code",
    "id": "identifier",
    "date": "UTC date",
}

# `<N>d`: known during the N days up to the end of D; `lifetime`: everything known by D;
# `as_of`: a state on D.
WINDOW_PATTERN = re.compile(r"^(?:[1-9][0-9]*d|lifetime|as_of)$")

POINT_IN_TIME = (
    "Each row describes one account on one as-of day D (UTC) and uses only what the warehouse "
    "knew by the end of D. An event counts from the day it became knowable, the later of when it "
    "happened and when it was first loaded, never from its event time alone: a chargeback loaded "
    "a week late enters the features a week late, and rebuilding a past day from the data as it "
    "stood then gives the same row. Window `Nd` means known during the N days D-(N-1) to D; "
    "`lifetime` means everything known up to D; `as_of` is a state on D (the profile version "
    "valid on D, links holding on D, orders due on D). Linked accounts share a device, card or "
    "address (a strong link) or an IP with the account, as known on D; an identifier shared by "
    "more than 50 accounts (var `link_entity_max_accounts`) links nobody. There is a row for "
    "every account active in the 90 days up to D."
)


class CatalogError(ValueError):
    """The yml does not describe the feature mart completely (missing model or metadata)."""


@dataclass(frozen=True)
class FeatureColumn:
    """One documented column of the feature mart."""

    name: str
    family: str
    window: str
    unit: str
    description: str
    model_input: bool = True  # meta `model_input: false`: read by rules, never by a model


def load_feature_columns(models_yml: Path, model: str = FEATURE_MODEL) -> list[FeatureColumn]:
    """The model's columns in yml order, validated; raises CatalogError listing every problem."""
    document = yaml.safe_load(models_yml.read_text(encoding="utf-8")) or {}
    entries = [m for m in document.get("models") or [] if m.get("name") == model]
    if len(entries) != 1:
        raise CatalogError(f"{models_yml}: expected one `{model}` entry, found {len(entries)}")

    columns: list[FeatureColumn] = []
    problems: list[str] = []
    for column in entries[0].get("columns") or []:
        name = column.get("name", "?")
        # dbt >= 1.10 keeps meta under `config`; a top-level `meta` is read too.
        meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
        family, window, unit = meta.get("family"), meta.get("window"), meta.get("unit")
        description = " ".join(str(column.get("description") or "").split())
        model_input = meta.get("model_input", True)
        if not isinstance(model_input, bool):
            problems.append(f"{name}: model_input {model_input!r} is not true or false")
        if family not in FAMILIES:
            problems.append(f"{name}: family {family!r} is not one of {sorted(FAMILIES)}")
        if not isinstance(window, str) or not WINDOW_PATTERN.match(window):
            problems.append(f"{name}: window {window!r} is not `<N>d`, `lifetime` or `as_of`")
        if unit not in UNITS:
            problems.append(f"{name}: unit {unit!r} is not one of {sorted(UNITS)}")
        if not description:
            problems.append(f"{name}: no description")
        columns.append(FeatureColumn(name, str(family), str(window), str(unit), description, model_input is not False))
    if not columns:
        problems.append(f"`{model}` documents no columns")
    if problems:
        raise CatalogError(f"{models_yml}:\n  " + "\n  ".join(problems))
    return columns


def render_feature_catalog(models_yml: Path) -> str:
    """The markdown catalog of the feature mart: one table per family, columns in yml order."""
    columns = load_feature_columns(models_yml)
    lines = [
        f"# Feature catalog: `{FEATURE_MODEL}`",
        "",
        f"<!-- Generated from dbt_project/{MODELS_YML_IN_PROJECT} by "
        "`uv run python -m ml.features.catalog`. Do not edit by hand. -->",
        "",
        POINT_IN_TIME,
        "",
        "Units: " + "; ".join(f"`{unit}` {meaning}" for unit, meaning in UNITS.items()) + ".",
        "",
        f"{len(columns)} columns in {len({c.family for c in columns})} families;"
        f" {sum(not c.model_input for c in columns)} of them (marked *rules only*) are read by the rules"
        " of `ml/score/rules.py`, never by a model.",
    ]
    for family, heading in FAMILIES.items():
        members = [c for c in columns if c.family == family]
        if not members:
            continue
        lines += [
            "",
            f"## {heading} (`{family}`)",
            "",
            "| column | window | unit | description |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{c.name}`{'' if c.model_input else ' (*rules only*)'} | {c.window} | {c.unit} |"
            f" {table_cell(c.description)} |"
            for c in members
        ]
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    models_yml: Path = DEFAULT_MODELS_YML,
    output: Path = DEFAULT_OUTPUT,
) -> int:
    """Write the page, or with `--check` return 1 if the file on disk differs from it."""
    return write_or_check(
        argv,
        prog="ml.features.catalog",
        output=output,
        sources=display(models_yml),
        render=lambda: render_feature_catalog(models_yml),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
