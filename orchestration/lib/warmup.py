"""Warm up a near-real-time batch's scoring while it ingests.

Every batch is a new run process. Its scoring step, the last, needs the model libraries
(MLflow, XGBoost and scikit-learn: 4 s to import where the run's process did not start with
them, `orchestration/lib/run_launcher.py`) and the champion, whose first load in a process
opens MLflow's store (engine, schema check) and reads the model: 1.3 s measured on the live
bench's base, against 0.06 s for a second load. The batch's first step, ingestion, mostly waits
on DuckDB and Arrow, which release Python's lock: a background thread does both meanwhile.
The scoring step still loads the champion itself, when it runs (a promotion in between is
seen): the thread's copy is thrown away, only the warm store and files stay. (Started with
the dbt build instead, the thread would take Python's lock from dbt, which runs in the same
process.)
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

# What `ModelRegistry.load_champion` and scoring import (XGBoost imports scikit-learn itself).
MODEL_LIBRARIES = ("mlflow.pyfunc", "xgboost")


def _warm(names: tuple[str, ...], load: Callable[[], object] | None) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the step that needs it imports it again, and fails there
            continue
    if load is not None:
        try:
            load()
        except Exception:  # noqa: BLE001 (the scoring step loads it again, and fails there with its message)
            pass


def start_warmup(
    load: Callable[[], object] | None = None, names: tuple[str, ...] = MODEL_LIBRARIES
) -> threading.Thread:
    """Start importing `names`, then calling `load` once (the champion's load; its result is
    discarded), in a daemon thread; returns it. Nothing needs to wait for it: an import the
    thread has not finished blocks the importer until it has, and a second load only finds
    the store open."""
    thread = threading.Thread(target=_warm, args=(names, load), name="vigil-warmup", daemon=True)
    thread.start()
    return thread
