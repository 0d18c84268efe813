"""The training reference saved with every model version: what its inputs and scores looked like
when it was trained, so drift is measured against the model's own data, not against yesterday.

- Features: the training block (the rows the trees learned from), one histogram per model
  feature: quantile bins (right-closed, so a zero-inflated count keeps 0 as its own bin) plus a
  null bin, and the exact shares of nulls and zeros.
- Score: the calibrated scores of the validation block (the trees never trained on it, so its
  scores are what new data gets; the policy's thresholds were chosen on it), in quantile bins
  with the review and block thresholds as extra edges, and the policy's band rates there.

Plain JSON (no pickle), saved inside the model's pyfunc (`ml.registry`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FORMAT = 1
BANDS = ("allow", "review", "block")


def numeric_values(values) -> np.ndarray:
    """Any numeric-ish column as float64 with NaN for null (nullable ints, booleans, decimals)."""
    series = pd.to_numeric(pd.Series(values), errors="coerce")
    return series.to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class Histogram:
    """Value bins (-inf, e0], (e0, e1], ..., (e_last, inf) and one null bin, as shares of rows."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]  # len(edges) + 1 value bins, then the null bin; they sum to 1

    @classmethod
    def fit(cls, values, bins: int, extra_edges: Iterable[float] = ()) -> Histogram:
        x = numeric_values(values)
        known = x[~np.isnan(x)]
        # Cut points are observed values (no interpolation): integer counts get integer edges.
        quantiles = np.linspace(0, 1, bins + 1)[1:-1]
        cuts = np.quantile(known, quantiles, method="inverted_cdf") if len(known) else np.array([])
        edges = np.unique(np.concatenate([cuts, np.asarray(list(extra_edges), float)]))
        edges = edges[np.isfinite(edges)]
        histogram = cls(tuple(map(float, edges)), ())
        return cls(histogram.edges, tuple(map(float, histogram.shares_of(x))))

    def counts(self, values) -> np.ndarray:
        x = numeric_values(values)
        null = np.isnan(x)
        which = np.searchsorted(np.asarray(self.edges, float), x[~null], side="left")
        counts = np.bincount(which, minlength=len(self.edges) + 1).astype(float)
        return np.append(counts, float(null.sum()))

    def shares_of(self, values) -> np.ndarray:
        counts = self.counts(values)
        total = counts.sum()
        return counts / total if total else counts

    def bin_of(self, value: float) -> int:
        """The value bin holding `value` (the null bin for NaN)."""
        if np.isnan(value):
            return len(self.edges) + 1
        return int(np.searchsorted(np.asarray(self.edges, float), value, side="left"))

    def labels(self) -> list[str]:
        """Readable bin names, e.g. `<= 0`, `(0, 3]`, `> 12`, `null`."""
        if not self.edges:
            return ["all values", "null"]
        shown = [f"{e:.4g}" for e in self.edges]
        inner = [f"({a}, {b}]" for a, b in zip(shown, shown[1:], strict=False)]
        return [f"<= {shown[0]}", *inner, f"> {shown[-1]}", "null"]

    def to_dict(self) -> dict[str, object]:
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Histogram:
        return cls(tuple(map(float, data["edges"])), tuple(map(float, data["shares"])))


@dataclass(frozen=True)
class FeatureReference:
    name: str
    histogram: Histogram
    null_share: float
    zero_share: float

    def share_of_constant(self, value: float) -> float:
        """Share of reference rows equal to `value`, or (for a non-zero value) an upper bound:
        the share of its bin. Used to judge how plausible a day stuck at that value is."""
        if np.isnan(value):
            return self.null_share
        if value == 0:
            return self.zero_share
        return float(self.histogram.shares[self.histogram.bin_of(value)])

    def to_dict(self) -> dict[str, object]:
        return {"histogram": self.histogram.to_dict(), "null_share": self.null_share, "zero_share": self.zero_share}


def feature_reference(name: str, values, bins: int) -> FeatureReference:
    x = numeric_values(values)
    rows = max(len(x), 1)
    return FeatureReference(
        name=name,
        histogram=Histogram.fit(x, bins),
        null_share=float(np.isnan(x).sum()) / rows,
        zero_share=float((x == 0).sum()) / rows,
    )


@dataclass(frozen=True)
class TrainingReference:
    features: dict[str, FeatureReference]
    score: Histogram | None
    band_rates: dict[str, float]
    source: str  # what the reference was built from, e.g. "train block 2026-01-03..2026-04-25 (41,220 rows)"
    rows: int

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "source": self.source,
            "rows": self.rows,
            "features": {name: ref.to_dict() for name, ref in self.features.items()},
            "score": self.score.to_dict() if self.score else None,
            "band_rates": self.band_rates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TrainingReference:
        if data.get("format") != FORMAT:
            raise ValueError(f"training reference format {data.get('format')!r}; this code reads {FORMAT}")
        features = {
            name: FeatureReference(
                name, Histogram.from_dict(ref["histogram"]), float(ref["null_share"]), float(ref["zero_share"])
            )
            for name, ref in data["features"].items()
        }
        score = Histogram.from_dict(data["score"]) if data.get("score") else None
        bands = {k: float(v) for k, v in (data.get("band_rates") or {}).items()}
        return cls(features, score, bands, str(data["source"]), int(data["rows"]))

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path: Path) -> TrainingReference:
        return cls.from_dict(json.loads(path.read_text()))


def build_reference(
    rows: pd.DataFrame,
    features: list[str],
    bins: int,
    source: str,
    scores: np.ndarray | None = None,
    thresholds: tuple[float, float] | None = None,
    bands: np.ndarray | None = None,
) -> TrainingReference:
    """Histograms of `features` over `rows`; with `scores` (calibrated, on other rows) and the
    policy's (review, block) `thresholds`, the score histogram and the band rates (from `bands`,
    the policy's band of each score, when its thresholds differ by side)."""
    references = {name: feature_reference(name, rows[name], bins) for name in features}
    score, band_rates = None, {}
    if scores is not None:
        scores = np.asarray(scores, float)
        score = Histogram.fit(scores, bins, extra_edges=thresholds or ())
        if bands is not None:
            bands = np.asarray(bands)
            n = max(len(bands), 1)
            band_rates = {band: float((bands == band).sum()) / n for band in ("allow", "review", "block")}
        elif thresholds is not None:
            review, block = thresholds
            n = max(len(scores), 1)
            flagged_block = scores >= block
            flagged_review = (scores >= review) & ~flagged_block
            band_rates = {
                "allow": float((~flagged_block & ~flagged_review).sum()) / n,
                "review": float(flagged_review.sum()) / n,
                "block": float(flagged_block.sum()) / n,
            }
    return TrainingReference(references, score, band_rates, source, len(rows))
