"""Intraday rules: patterns a partial day shows before the model does, escalated to `review`.

The model is trained on end-of-day vectors. A takeover's day holds its spree orders by its
end, so the model learnt to score a takeover once those come: at the hijacking login alone
(failed logins, then a success from a device the account never used) it flags about one
takeover in six (BENCHMARKS.md, "Time to catch"). A rule puts such an account in review at once:
- only in the near-real-time path, and only up to `review` (the module `ml.live.escalate`
  never blocks); the daily run of the day, the system of record, scores the whole day with
  the model alone and reconciles: a rule's review the day's model does not confirm is lifted
  the next morning;
- only for rows the model leaves at `allow` (a model `review`/`block` keeps its own reasons);
- the escalated row's first reason is the rule's code and text (reasons 2 and 3 stay empty),
  so the decision explains itself; its score stays the model's;
- its escalations count against `intraday.escalations_today` like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.score.schema import REASON_COLUMNS

LATER_REASONS = [name for name, _ in REASON_COLUMNS if name not in ("reason_code_1", "reason_text_1")]


@dataclass(frozen=True)
class IntradayRule:
    code: str  # the reason code of the rows it escalates
    minimums: Mapping[str, float]  # it matches a row whose every feature here is at least this
    text: str  # the reason text, `str.format`ted with the row's values of `minimums`' features
    meaning: str  # for REASON_CODES.md

    def matches(self, features: pd.DataFrame) -> np.ndarray:
        missing = [f for f in self.minimums if f not in features.columns]
        if missing:
            raise ValueError(f"rule {self.code} needs features {missing}")
        hit = np.ones(len(features), dtype=bool)
        for feature, minimum in self.minimums.items():
            values = pd.to_numeric(features[feature], errors="coerce").to_numpy(dtype=float, na_value=-np.inf)
            hit &= values >= minimum
        return hit

    def reason_text(self, row: Mapping[str, object]) -> str:
        return self.text.format(**{f: int(float(row[f])) for f in self.minimums})


# Credential stuffing that worked: failed logins and a login from a device new to the account,
# the same day (in either order: the vector holds counts, not their sequence). On the demo's
# 169 days after the training block, 77 account-days match, all of them takeovers after their
# hijacking login; no other account's day does.
TAKEOVER_LOGIN = IntradayRule(
    code="TAKEOVER_LOGIN",
    minimums={"failed_logins_1d": 3, "new_devices_1d": 1},
    text="{failed_logins_1d} failed logins and a login from {new_devices_1d} new device(s) today",
    meaning="At least 3 failed logins and a login from a device the account never used, the same day: "
    "the near-real-time path puts the account in review before the model's score says so",
)

RULES: tuple[IntradayRule, ...] = (TAKEOVER_LOGIN,)
RULE_CODES = frozenset(rule.code for rule in RULES)


def apply_rules(scores: pd.DataFrame, features: pd.DataFrame, rules: tuple[IntradayRule, ...] = RULES) -> pd.DataFrame:
    """`scores` (one row per row of `features`, same order) with the `allow` rows a rule
    matches moved to `review`, the first matching rule as their only reason."""
    if len(scores) != len(features) or (scores["account_id"].to_numpy() != features["account_id"].to_numpy()).any():
        raise ValueError("apply_rules takes the scores of `features`' rows, in the same order")
    out = scores.copy()
    open_rows = out["band"].to_numpy() == "allow"
    for rule in rules:
        hit = open_rows & rule.matches(features)
        if not hit.any():
            continue
        rows = features.loc[hit]
        out.loc[hit, "band"] = "review"
        out.loc[hit, "reason_code_1"] = rule.code
        out.loc[hit, "reason_text_1"] = [rule.reason_text(r) for r in rows.to_dict("records")]
        out.loc[hit, LATER_REASONS] = None
        open_rows &= ~hit
    return out
