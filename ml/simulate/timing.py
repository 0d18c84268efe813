"""Time helpers: seasonality, loader delays and ISO-week batch keys.

All times are int64 microseconds since the Unix epoch (naive UTC), the unit the contract's
timestamps use, so nothing is lost between generation and Parquet.
"""

from __future__ import annotations

import numpy as np

from ml.contract import MAX_LATENESS_DAYS

MILLISECOND = 1_000
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
NULL_TS = np.iinfo(np.int64).min  # "no timestamp" inside numeric frames
FAR_FUTURE = np.iinfo(np.int64).max // 4  # "never" for windows; survives small additions
MAX_LATENESS = MAX_LATENESS_DAYS * DAY

# Activity by UTC hour: most users are in the US, so the peak is the US evening (00-04 UTC);
# a smaller European evening bump sits around 19-22 UTC.
HOUR_WEIGHTS = np.array(
    [1.6, 1.7, 1.6, 1.4, 1.1, 0.8, 0.5, 0.35, 0.3, 0.3, 0.35, 0.45,
     0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
)  # fmt: skip
# Shows are scheduled for prime time, more sharply than browsing.
STREAM_HOUR_WEIGHTS = HOUR_WEIGHTS**2.5
WEEKDAY_WEIGHTS = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.2, 1.15])  # Monday first


def weekday(us: np.ndarray) -> np.ndarray:
    """Monday=0 weekday of each timestamp (1970-01-01 was a Thursday)."""
    return (us // DAY + 3) % 7


def uniform_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One uniform timestamp per row in [lo, hi)."""
    span = np.maximum(np.asarray(hi) - np.asarray(lo), 1)
    return np.asarray(lo) + (rng.random(span.shape) * span).astype(np.int64)


def seasonal_times(
    rng: np.random.Generator,
    lo: np.ndarray,
    hi: np.ndarray,
    hour_weights: np.ndarray = HOUR_WEIGHTS,
    weekday_weights: np.ndarray = WEEKDAY_WEIGHTS,
    rounds: int = 30,
) -> np.ndarray:
    """One timestamp per row in [lo, hi), thinned towards busy hours and weekdays.

    Rejection sampling keeps every row inside its own window (accounts have different
    lifetimes); rows still rejected after `rounds` keep their last uniform draw.
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    accept = np.outer(hour_weights, weekday_weights)
    accept = accept / accept.max()
    out = uniform_between(rng, lo, hi)
    pending = np.arange(len(lo))
    for _ in range(rounds):
        if len(pending) == 0:
            break
        cand = uniform_between(rng, lo[pending], hi[pending])
        ok = rng.random(len(pending)) < accept[(cand // HOUR) % 24, weekday(cand)]
        out[pending] = cand
        pending = pending[~ok]
    return out


def lognormal_us(rng: np.random.Generator, n: int, median_us: float | np.ndarray, sigma: float) -> np.ndarray:
    """Heavy-tailed durations (delays, show lengths) with the given median."""
    return (np.asarray(median_us) * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def loader_delays(rng: np.random.Generator, n: int, late_share: float) -> np.ndarray:
    """How long after its event each row lands: seconds to minutes, a few hours to days.

    Late arrivals stay strictly under the contract's 7-day bound.
    """
    prompt = np.clip(lognormal_us(rng, n, 20 * SECOND, 1.1), SECOND, 20 * MINUTE)
    late_log = rng.uniform(np.log(HOUR), np.log(MAX_LATENESS - HOUR), n)
    late = np.exp(late_log).astype(np.int64)
    return np.where(rng.random(n) < late_share, late, prompt)


def iso_week_keys(us: np.ndarray) -> np.ndarray:
    """ISO year*100 + ISO week of each timestamp (sorts in time order)."""
    days = us // DAY
    thursday = days - (days + 3) % 7 + 3  # the ISO week belongs to the year of its Thursday
    years = thursday.astype("datetime64[D]").astype("datetime64[Y]")
    jan1 = years.astype("datetime64[D]").astype(np.int64)
    week = (thursday - jan1) // 7 + 1
    return (years.astype(np.int64) + 1970) * 100 + week


def week_label(key: int) -> str:
    """`202605` -> `2026w05`."""
    return f"{key // 100}w{key % 100:02d}"


def week_edges(start_us: int, end_us: int) -> np.ndarray:
    """Edges of 7-day buckets from start to end (last bucket may be short)."""
    edges = np.arange(start_us, end_us, WEEK, dtype=np.int64)
    return np.append(edges, end_us)


def week_overlap_days(lo: np.ndarray, hi: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(n_weeks, n) days each [lo, hi) window overlaps each simulation week."""
    overlap = np.minimum(hi[None, :], edges[1:, None]) - np.maximum(lo[None, :], edges[:-1, None])
    return (np.clip(overlap, 0, None) / DAY).astype(np.float32)


def week_index(us: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Simulation-week bucket of each timestamp (clipped to the period)."""
    return np.clip((us - edges[0]) // WEEK, 0, len(edges) - 2)
