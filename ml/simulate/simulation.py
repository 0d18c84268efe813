"""One simulation run: build the world, generate each account chunk, write files."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ml.contract import TABLE_NAMES
from ml.simulate.abuse import ABUSE_PATTERNS, TRAP_TYPES
from ml.simulate.activity import account_rows, login_rows, payment_method_rows
from ml.simulate.commerce import commerce_rows
from ml.simulate.config import SimulationConfig
from ml.simulate.dirty import duplicate_rows, malformed_rows
from ml.simulate.encoding import Encoder
from ml.simulate.frames import Frame, concat
from ml.simulate.labels import enforcement_rows, ground_truth_table
from ml.simulate.loader import stamp_loaded
from ml.simulate.streams import stream_rows
from ml.simulate.world import Chunk, World, build_world, stage_rng
from ml.simulate.writer import LandingWriter, write_file

log = logging.getLogger(__name__)

GROUND_TRUTH_FILE = "accounts.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote. Everything but wall_seconds is deterministic for a config."""

    rows: dict[str, int]  # Parquet rows per table (duplicates included)
    malformed_rows: dict[str, int]  # CSV rows per table
    files: dict[str, int]  # landing files per table
    abusers: dict[str, int]  # accounts per abuse pattern
    traps: dict[str, int]  # accounts per trap type
    wall_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values()) + sum(self.malformed_rows.values())

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def chunk_frames(world: World, chunk: Chunk) -> dict[str, Frame]:
    """Every contract table's rows for one account chunk (before loading)."""
    seed, c = world.cfg.seed, chunk.index
    payment_methods, usable = payment_method_rows(world, chunk, stage_rng(seed, "payment_methods", c))
    frames = {
        "accounts": account_rows(world, chunk),
        "logins": login_rows(world, chunk, stage_rng(seed, "logins", c)),
        "payment_methods": payment_methods,
        "livestreams": stream_rows(world.streams, chunk.lo, chunk.hi, world.cfg.end_us),
        "enforcement_actions": enforcement_rows(world.plan, chunk.lo, chunk.hi),
    }
    frames.update(commerce_rows(world, chunk, stage_rng(seed, "commerce", c), usable))
    return {table: frames[table] for table in TABLE_NAMES}


def _counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    counted = np.bincount(codes.astype(np.int64), minlength=len(names) + 1)
    return {name: int(counted[i + 1]) for i, name in enumerate(names)}


def simulate(config: SimulationConfig, landing_dir: Path, ground_truth_dir: Path) -> SimulationSummary:
    """Simulate the marketplace and write landing batches plus the hidden ground truth.

    Refuses (LandingNotEmptyError) a landing folder that already holds files, and
    (ValueError) a ground-truth folder inside the landing one.
    """
    started = time.perf_counter()
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    if ground_truth_dir.resolve().is_relative_to(landing_dir.resolve()):
        raise ValueError("the ground truth must not be written inside the landing folder")
    encoder = Encoder(seed=config.seed, account_width=max(6, len(str(config.n_accounts - 1))))
    writer = LandingWriter(landing_dir, encoder, chunk_width=max(3, len(str(config.n_chunks - 1))))
    writer.prepare()
    world = build_world(config)

    for c in range(config.n_chunks):
        chunk = world.chunk(c)
        for table, frame in chunk_frames(world, chunk).items():
            rng = stage_rng(config.seed, f"load:{table}", c)
            frame = stamp_loaded(table, frame, rng, config)
            if config.dirty_rate > 0:
                text, loaded = malformed_rows(table, frame, rng, config.dirty_rate, encoder, config.end_us)
                writer.write_malformed(table, c, text, loaded)
                frame = concat([frame, duplicate_rows(frame, rng, config.dirty_rate, config.end_us)])
            writer.write(table, c, frame)
        log.info("chunk %d/%d written (accounts %d-%d)", c + 1, config.n_chunks, chunk.lo, chunk.hi - 1)

    ground_truth_dir.mkdir(parents=True, exist_ok=True)
    truth = ground_truth_table(world.roles, encoder.account_width)
    # The ground truth belongs to the world now in the landing folder: replace any old one.
    write_file(
        ground_truth_dir / GROUND_TRUTH_FILE,
        lambda p: pq.write_table(truth, p, compression="zstd"),
        overwrite=True,
    )
    summary = SimulationSummary(
        rows={t: writer.rows[t] for t in TABLE_NAMES},
        malformed_rows={t: writer.malformed_rows[t] for t in TABLE_NAMES},
        files={t: writer.files[t] for t in TABLE_NAMES},
        abusers=_counts(world.roles.abuse, ABUSE_PATTERNS),
        traps=_counts(world.roles.trap, TRAP_TYPES),
        wall_seconds=round(time.perf_counter() - started, 2),
    )
    manifest = {
        "generator": "ml.simulate",
        "config": config.to_dict(),
        "batch_id": "<ISO year>w<ISO week of _loaded_at>_c<account chunk>",
        **{k: v for k, v in summary.to_dict().items() if k != "wall_seconds"},
    }
    write_file(
        ground_truth_dir / MANIFEST_FILE,
        lambda p: p.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n"),
        overwrite=True,
    )
    log.info("simulation done: %d rows in %.1fs", summary.total_rows, summary.wall_seconds)
    return summary
