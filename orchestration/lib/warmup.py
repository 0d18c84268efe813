"""Import a near-real-time batch's model libraries while it ingests.

Every batch is a new run process. Its definitions load without MLflow, XGBoost and
scikit-learn (4 s to import), and only the batch's last step, scoring, needs them. Its first
step, ingestion, mostly waits on DuckDB and Arrow, which release Python's lock: importing them
in a background thread meanwhile takes their import off the batch's latency. (Started with
the dbt build instead, they would take Python's lock from dbt, which runs in the same process.)
"""

from __future__ import annotations

import importlib
import threading

# What `ModelRegistry.load_champion` and scoring import (XGBoost imports scikit-learn itself).
MODEL_LIBRARIES = ("mlflow.pyfunc", "xgboost")


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the step that needs it imports it again, and fails there
            continue


def start_model_imports(names: tuple[str, ...] = MODEL_LIBRARIES) -> threading.Thread:
    """Start importing `names` in a daemon thread; returns it (nothing needs to wait for it:
    an import the thread has not finished blocks the importer until it has)."""
    thread = threading.Thread(target=_import_all, args=(names,), name="vigil-model-imports", daemon=True)
    thread.start()
    return thread
