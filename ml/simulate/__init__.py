"""Marketplace simulator: writes the ten raw tables of the contract as landing batches.

    from ml.simulate import SimulationConfig, simulate
    config = SimulationConfig(n_accounts=20_000, seed=7)
    summary = simulate(config, Path("data/landing"), Path("data/ground_truth"))

See `python -m ml.simulate --help` for the command line.
"""

from ml.simulate.config import SimulationConfig
from ml.simulate.simulation import SimulationSummary, simulate
from ml.simulate.writer import LandingNotEmptyError

__all__ = ["LandingNotEmptyError", "SimulationConfig", "SimulationSummary", "simulate"]
