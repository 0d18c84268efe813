"""A near-real-time batch's scoring is warmed up in a background thread while it ingests
(orchestration/lib/warmup.py): the model libraries imported, then the champion loaded once;
a library that fails to import, or a load that fails, fails only where it is used."""

import subprocess
import sys
import threading
from pathlib import Path

from orchestration.lib.warmup import start_warmup

ROOT = Path(__file__).resolve().parents[2]


def _fresh_python(script: str) -> str:
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_thread_imports_the_model_libraries():
    script = (
        "import sys; from orchestration.lib.warmup import MODEL_LIBRARIES, start_warmup;"
        "before = [m for m in MODEL_LIBRARIES if m in sys.modules];"
        "start_warmup().join();"
        "print(before, [m for m in (*MODEL_LIBRARIES, 'sklearn') if m not in sys.modules])"
    )
    assert _fresh_python(script) == "[] []"  # scikit-learn too: XGBoost imports it


def test_a_library_that_fails_to_import_is_left_to_its_user():
    script = (
        "import sys; from orchestration.lib.warmup import start_warmup;"
        "start_warmup(names=('vigil_no_such_module', 'xgboost')).join();"
        "print('vigil_no_such_module' in sys.modules, 'xgboost' in sys.modules)"
    )
    assert _fresh_python(script) == "False True"


def test_the_load_runs_once_after_the_imports():
    seen = []
    start_warmup(lambda: seen.append("xgboost" in sys.modules), names=("xgboost",)).join()
    assert seen == [True]


def test_a_load_that_fails_is_left_to_the_scoring_step(monkeypatch):
    escaped = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)

    def no_champion():
        raise LookupError("no `champion` version")

    thread = start_warmup(no_champion, names=())
    thread.join()
    assert not thread.is_alive() and escaped == []
