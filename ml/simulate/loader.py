"""When rows land: `_loaded_at` = event time + loader delay, as seen at the end of the world.

A small share lands hours to days late, never more than the contract's 7 days after the
row's own timestamps. Re-emitted versions of a row always land after the version before
them, so "latest `_loaded_at` wins" picks the newest state. Rows that would land after the
end of the period have not arrived yet and are left out.
"""

from __future__ import annotations

import numpy as np

from ml.contract import TABLES
from ml.simulate.commerce import PROMPT
from ml.simulate.config import SimulationConfig
from ml.simulate.frames import EVENT, LAST, VERSION, VISIBLE, Frame, last_in_group, n_rows, take
from ml.simulate.timing import MAX_LATENESS, MILLISECOND, MINUTE, SECOND, loader_delays


def stamp_loaded(table: str, frame: Frame, rng: np.random.Generator, cfg: SimulationConfig) -> Frame:
    """Add `_loaded_at` and the newest-version flag; drop rows not landed by the end."""
    n = n_rows(frame)
    delay = loader_delays(rng, n, cfg.late_share)
    if PROMPT in frame:
        delay = np.where(frame.pop(PROMPT), np.minimum(delay, 20 * MINUTE), delay)
    loaded = np.minimum(frame[EVENT] + delay, frame[VISIBLE] + MAX_LATENESS - SECOND)
    key = frame[TABLES[table].primary_key] if n else np.zeros(0, np.int64)
    versioned = VERSION in frame and n > 0
    if versioned:
        order = np.lexsort((frame[VERSION], key))
        same_id = np.r_[False, key[order][1:] == key[order][:-1]]
        chained = loaded[order]
        for _ in range(int(frame[VERSION].max())):  # one pass per possible predecessor
            previous = np.r_[chained[:1], chained[:-1]] + MILLISECOND
            chained = np.where(same_id, np.maximum(chained, previous), chained)
        loaded[order] = chained
    frame["_loaded_at"] = loaded
    frame = take(frame, loaded < cfg.end_us)
    newest = np.ones(n_rows(frame), bool)
    if versioned:
        key = frame[TABLES[table].primary_key]
        order = np.lexsort((frame[VERSION], key))
        newest[order] = last_in_group(key[order])
    frame[LAST] = newest
    return frame
