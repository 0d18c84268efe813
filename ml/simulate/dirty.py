"""Dirty data, as the contract warns: re-sent duplicates and malformed rows.

Duplicates are exact copies of a row's newest version with a later `_loaded_at` (still within
7 days of the row's timestamps), so deduplication must keep one. Malformed rows are corrupted
copies of real rows: null ids, unknown enum values, negative amounts, timestamps after their
own `_loaded_at`, and unparseable text. Text like "not-a-date" cannot live in a typed Parquet
column, so all malformed rows of a batch go to a CSV file beside it; ingestion must validate
and quarantine them. The clean original of a malformed copy stays in the Parquet batch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml.contract import TABLES
from ml.simulate.encoding import Encoder
from ml.simulate.frames import LAST, NULL_ID, VISIBLE, Frame, n_rows, take
from ml.simulate.timing import DAY, HOUR, MAX_LATENESS, MINUTE, SECOND, uniform_between

NULL_ID_KIND = "null_id"
UNKNOWN_ENUM = "unknown_enum"
NEGATIVE_AMOUNT = "negative_amount"
FUTURE_TIMESTAMP = "future_timestamp"
BAD_TIMESTAMP = "unparseable_timestamp"
BAD_AMOUNT = "unparseable_amount"
BAD_BOOLEAN = "unparseable_boolean"

_BAD_TEXT = {
    BAD_TIMESTAMP: ("not-a-date", "2026-13-45 25:61:00", "yesterday"),
    BAD_AMOUNT: ("abc", "12,50 USD", "--5"),
    BAD_BOOLEAN: ("maybe", "yes?", "2"),
    UNKNOWN_ENUM: ("unknown", "pending", "n/a"),
}


def malformation_kinds(table: str) -> tuple[str, ...]:
    """The corruptions that make sense for a table's columns."""
    types = {c.type for c in TABLES[table].columns}
    kinds = [NULL_ID_KIND, FUTURE_TIMESTAMP, BAD_TIMESTAMP]
    if any(c.allowed for c in TABLES[table].columns):
        kinds.append(UNKNOWN_ENUM)
    if "amount" in types:
        kinds += [NEGATIVE_AMOUNT, BAD_AMOUNT]
    if "boolean" in types:
        kinds.append(BAD_BOOLEAN)
    return tuple(kinds)


def _text_targets(table: str, kind: str) -> list[str]:
    """Columns a text-only corruption can hit (never `_loaded_at`: batching needs it)."""
    columns = TABLES[table].columns
    if kind == UNKNOWN_ENUM:
        return [c.name for c in columns if c.allowed]
    column_type = {BAD_TIMESTAMP: "timestamp", BAD_AMOUNT: "amount", BAD_BOOLEAN: "boolean"}[kind]
    return [c.name for c in columns if c.type == column_type and c.name != "_loaded_at"]


def duplicate_rows(frame: Frame, rng: np.random.Generator, rate: float, end_us: int) -> Frame:
    """Re-sent copies of newest versions, landing minutes to a day after the original."""
    candidates = np.flatnonzero(frame[LAST]) if n_rows(frame) else np.zeros(0, np.int64)
    k = min(rng.binomial(n_rows(frame), rate), len(candidates))
    picked = np.sort(rng.choice(candidates, k, replace=False))
    dup = take(frame, picked)
    later = dup["_loaded_at"] + uniform_between(rng, np.full(k, MINUTE), np.full(k, DAY))
    later = np.minimum(later, dup[VISIBLE] + MAX_LATENESS - SECOND)
    ok = (later > dup["_loaded_at"]) & (later < end_us)
    dup = take(dup, ok)
    dup["_loaded_at"] = later[ok]
    return dup


def malformed_rows(
    table: str,
    frame: Frame,
    rng: np.random.Generator,
    rate: float,
    encoder: Encoder,
    end_us: int,
) -> tuple[pa.Table, np.ndarray]:
    """Corrupted copies of a `rate` share of rows, as an all-text table, plus `_loaded_at`
    (microseconds) per row for batching."""
    spec = TABLES[table]
    n = n_rows(frame)
    k = rng.binomial(n, rate) if n else 0
    bad = take(frame, np.sort(rng.choice(n, k, replace=False)) if k else np.zeros(0, np.int64))
    bad = {name: values.copy() for name, values in bad.items()}
    loaded = np.minimum(
        bad["_loaded_at"] + uniform_between(rng, np.zeros(k, np.int64), np.full(k, HOUR)),
        end_us - 1,
    )
    bad["_loaded_at"] = loaded
    kinds = np.array(malformation_kinds(table))[rng.integers(0, len(malformation_kinds(table)), k)]

    # Corruptions that still fit the column type are applied to the numbers ...
    id_columns = [
        c.name
        for c in spec.columns
        if c.type == "string" and not c.nullable and c.allowed is None and c.name.endswith("_id")
    ]
    column_pick = rng.integers(0, len(id_columns), k)
    for i, name in enumerate(id_columns):
        bad[name][(kinds == NULL_ID_KIND) & (column_pick == i)] = NULL_ID
    future = kinds == FUTURE_TIMESTAMP
    bad[spec.event_time][future] = loaded[future] + uniform_between(
        rng, np.full(int(future.sum()), DAY), np.full(int(future.sum()), 30 * DAY)
    )
    amount = next((c.name for c in spec.columns if c.type == "amount"), None)
    if amount:
        negative = kinds == NEGATIVE_AMOUNT
        bad[amount][negative] = -np.abs(bad[amount][negative]) - 1
    encoded = encoder.table(table, bad)

    # ... the rest only exists as text.
    text = {name: pc.cast(encoded[name], pa.string()).to_numpy(zero_copy_only=False).astype(object)
            for name in encoded.column_names}  # fmt: skip
    for kind, values in _BAD_TEXT.items():
        rows = np.flatnonzero(kinds == kind)
        targets = _text_targets(table, kind)
        if not targets or len(rows) == 0:
            continue
        column = np.array(targets)[rng.integers(0, len(targets), len(rows))]
        value = np.array(values, dtype=object)[rng.integers(0, len(values), len(rows))]
        for name in targets:  # one vectorised assignment per column
            hit = column == name
            text[name][rows[hit]] = value[hit]
    schema = pa.schema([pa.field(name, pa.string()) for name in spec.column_names])
    return pa.table({name: pa.array(text[name], pa.string()) for name in spec.column_names}, schema=schema), loaded
