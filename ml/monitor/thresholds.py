"""Monitoring thresholds, in one typed config (logged as metadata of every run that uses them).

PSI (population stability index) levels follow the industry convention: below 0.1 the
distribution is stable, 0.1-0.25 a moderate shift worth a look (warn), from 0.25 a major shift
(error severity in Dagster: red in the UI). Drift never blocks publication by itself: a
population shifts for real reasons (a promotion, a new market) and the publication gate already
refuses days whose band rates collapse or spike. A feature that stops arriving is different: the
model then scores every account on a default value, so it blocks publication (`features_arriving`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MonitorThresholds:
    # Reference histograms: quantile bins of the training block (fewer when values repeat).
    bins: int = 10
    # PSI of a feature or of the score vs the champion's training reference.
    psi_warn: float = 0.1
    psi_error: float = 0.25
    # Empty bins are floored at this share before taking logs (a bin empty on one side would
    # otherwise make PSI infinite); 1e-4 is the usual choice.
    psi_floor: float = 1e-4
    # A feature whose values on the day are all null or zero (or one constant) fails
    # `features_arriving` when that is implausible under the reference: the chance that every
    # one of the day's accounts drew such a value is below this.
    dead_feature_alpha: float = 1e-3
    # Band rates vs the rates of the validation block under the same policy: a warning beyond
    # this factor either way (the gate's band_rate checks judge day-to-day jumps).
    band_rate_warn_factor: float = 2.0
    # When the champion carries no training reference, features_arriving compares with the
    # feature mart's rows of up to this many days before the day.
    fallback_reference_days: int = 7
    # Restated performance: the matured days pooled for the comparison with the gate's evaluation,
    # and the relative drop (of average precision and of recall at capacity) that warns.
    restated_window_days: int = 7
    restated_max_relative_drop: float = 0.2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
