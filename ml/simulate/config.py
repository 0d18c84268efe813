"""The knobs of one simulated marketplace: same config => same files."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def date_to_us(day: date) -> int:
    """Microseconds since the Unix epoch at midnight UTC of `day`."""
    moment = datetime.combine(day, time(0), tzinfo=UTC)
    return int((moment - _EPOCH).total_seconds()) * 1_000_000


@dataclass(frozen=True)
class SimulationConfig:
    """Size, period, seed and pattern rates of a simulated world.

    Rates are shares of all accounts unless stated otherwise, so the mix stays the same
    at any size.
    """

    n_accounts: int = 20_000
    start_date: date = date(2026, 1, 1)
    end_date: date = date(2026, 9, 30)  # inclusive: the world stops at midnight after it
    seed: int = 7
    dirty_rate: float = 0.005  # share of rows re-sent as duplicates / malformed; 0 disables
    chunk_accounts: int = 50_000

    # Population
    backlog_share: float = 0.45  # accounts created before start_date (aged accounts)
    backlog_days: int = 730
    seller_share: float = 0.06
    late_share: float = 0.02  # rows the loader delivers hours to days late (always <= 7 days)

    # Abuse patterns (together ~4% of accounts)
    payment_fraud_rate: float = 0.014
    account_takeover_rate: float = 0.006
    seller_scam_rate: float = 0.0025
    shill_bidding_rate: float = 0.005
    multi_accounting_rate: float = 0.01

    # False-positive traps: good accounts that look a bit like abusers
    traveller_rate: float = 0.01
    big_spender_rate: float = 0.004
    slow_shipper_rate: float = 0.003
    shared_family_device_rate: float = 0.01

    # Enforcement: how well the existing review process does
    enforcement_recall: float = 0.6  # mean share of abusers actioned (varies per pattern)
    false_action_rate: float = 0.0015  # good, ordinary accounts wrongly suspended/banned
    trap_false_action_rate: float = 0.1  # traps wrongly actioned (they look suspicious)
    appeal_success_rate: float = 0.85  # wrong actions reversed by a `reinstate` from `appeal`

    def __post_init__(self) -> None:
        if self.n_accounts < 100:
            raise ValueError("n_accounts must be at least 100")
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if self.chunk_accounts < 1:
            raise ValueError("chunk_accounts must be positive")
        if not 0 <= self.dirty_rate < 0.5:
            raise ValueError("dirty_rate must be in [0, 0.5)")
        if not 0 <= self.late_share <= 1:
            raise ValueError("late_share must be in [0, 1]")
        abusers = (
            self.payment_fraud_rate
            + self.account_takeover_rate
            + self.seller_scam_rate
            + self.shill_bidding_rate
            + self.multi_accounting_rate
        )
        if abusers > 0.3:
            raise ValueError("abuse rates add up to more than 30% of accounts")

    @property
    def start_us(self) -> int:
        return date_to_us(self.start_date)

    @property
    def end_us(self) -> int:
        """Exclusive end: midnight after end_date. Nothing happens or lands at or after it."""
        return date_to_us(self.end_date) + 86_400 * 1_000_000

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_accounts / self.chunk_accounts)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly view (dates as ISO strings) for the manifest."""
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        out["end_date"] = self.end_date.isoformat()
        return out
