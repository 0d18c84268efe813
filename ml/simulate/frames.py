"""Numeric row frames: one dict of equal-length numpy arrays per table.

Rows stay numeric (ints for ids, codes for strings, int64 microseconds, cents) until the
writer encodes one weekly batch at a time, which keeps memory small. Columns whose name
starts with `__` are simulator bookkeeping and never written.
"""

from __future__ import annotations

import numpy as np

Frame = dict[str, np.ndarray]

NULL_ID = -1  # null id / code inside numeric frames
VISIBLE = "__visible_us"  # the row's latest timestamp value: lateness is measured from it
LAST = "__last"  # True for the newest version of its id (only those get re-sent)


def concat(frames: list[Frame]) -> Frame:
    """Stack frames with the same columns (empty list -> empty frame)."""
    frames = [f for f in frames if f]
    if not frames:
        return {}
    return {name: np.concatenate([f[name] for f in frames]) for name in frames[0]}


def take(frame: Frame, index: np.ndarray) -> Frame:
    """Rows at `index` (a boolean mask or integer positions)."""
    return {name: values[index] for name, values in frame.items()}


def n_rows(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def group_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For `np.repeat(x, counts)`: each row's group start and position inside its group."""
    starts = np.cumsum(counts) - counts
    position = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return starts, position


def last_in_group(sorted_keys: np.ndarray) -> np.ndarray:
    """Mask of the last row of each run of equal keys."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[sorted_keys[1:] != sorted_keys[:-1], True]


EVENT = "__event_us"  # when this row version's fact happened (the loader delay starts there)
VERSION = "__version"  # 0, 1, 2... for tables that re-emit a row when it changes
