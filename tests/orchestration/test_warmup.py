"""The near-real-time batch's model libraries are imported in a background thread
(orchestration/lib/warmup.py); a library that fails to import fails only where it is used."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fresh_python(script: str) -> str:
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_thread_imports_the_model_libraries():
    script = (
        "import sys; from orchestration.lib.warmup import MODEL_LIBRARIES, start_model_imports;"
        "before = [m for m in MODEL_LIBRARIES if m in sys.modules];"
        "start_model_imports().join();"
        "print(before, [m for m in (*MODEL_LIBRARIES, 'sklearn') if m not in sys.modules])"
    )
    assert _fresh_python(script) == "[] []"  # scikit-learn too: XGBoost imports it


def test_a_library_that_fails_to_import_is_left_to_its_user():
    script = (
        "import sys; from orchestration.lib.warmup import start_model_imports;"
        "start_model_imports(('vigil_no_such_module', 'xgboost')).join();"
        "print('vigil_no_such_module' in sys.modules, 'xgboost' in sys.modules)"
    )
    assert _fresh_python(script) == "False True"
