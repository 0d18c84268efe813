"""Command line: `python -m ml.simulate` / `vigil-simulate`."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from ml import settings
from ml.simulate.config import SimulationConfig
from ml.simulate.simulation import SimulationSummary, simulate
from ml.simulate.writer import LandingNotEmptyError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    defaults = SimulationConfig()
    parser = argparse.ArgumentParser(
        prog="vigil-simulate",
        description="Simulate the live-shopping marketplace and write raw landing batches.",
    )
    parser.add_argument("--accounts", type=int, default=defaults.n_accounts)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--start", type=date.fromisoformat, default=defaults.start_date, help="YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, default=defaults.end_date, help="YYYY-MM-DD, inclusive")
    parser.add_argument("--chunk-accounts", type=int, default=defaults.chunk_accounts)
    parser.add_argument(
        "--landing-dir",
        type=Path,
        default=None,
        help="default: $VIGIL_LANDING_DIR or $VIGIL_DATA_DIR/landing (./data/landing)",
    )
    parser.add_argument(
        "--ground-truth-dir",
        type=Path,
        default=None,
        help="default: $VIGIL_DATA_DIR/ground_truth (./data/ground_truth)",
    )
    dirt = parser.add_mutually_exclusive_group()
    dirt.add_argument("--dirty-rate", type=float, default=defaults.dirty_rate)
    dirt.add_argument("--no-dirty", action="store_true", help="no duplicates or malformed rows")
    parser.add_argument("--log-level", default="INFO")
    return parser


def format_summary(summary: SimulationSummary) -> str:
    """A small table of what was written."""
    lines = [f"{'table':<22}{'rows':>12}{'malformed':>11}{'files':>8}"]
    for table, rows in summary.rows.items():
        lines.append(f"{table:<22}{rows:>12,}{summary.malformed_rows[table]:>11,}{summary.files[table]:>8,}")
    lines.append(f"{'total':<22}{summary.total_rows:>12,}")
    lines.append("abusers: " + ", ".join(f"{k}={v}" for k, v in summary.abusers.items()))
    lines.append("traps:   " + ", ".join(f"{k}={v}" for k, v in summary.traps.items()))
    lines.append(f"wall time: {summary.wall_seconds:.1f}s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SimulationConfig(
        n_accounts=args.accounts,
        start_date=args.start,
        end_date=args.end,
        seed=args.seed,
        dirty_rate=0.0 if args.no_dirty else args.dirty_rate,
        chunk_accounts=args.chunk_accounts,
    )
    # Same defaults as the rest of Vigil: $VIGIL_DATA_DIR/{landing,ground_truth}.
    landing = args.landing_dir or settings.landing_dir()
    truth = args.ground_truth_dir or settings.ground_truth_dir()
    try:
        summary = simulate(config, landing, truth)
    except (LandingNotEmptyError, ValueError) as err:
        log.error("%s", err)
        return 2
    print(format_summary(summary), file=sys.stdout)  # the CLI's result, not a log line
    return 0
