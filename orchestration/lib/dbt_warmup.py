"""dbt's first-command work, done once in the near-real-time fork server instead of in every batch.

The fork server (`orchestration/lib/run_launcher.py`) imports this module last among its
preloads, and never a run: importing it runs `dbt build` twice on a throwaway one-model project
in a temporary folder, on an in-memory DuckDB. The first command dbt runs in a process costs it
~1 s more than the same command again (a one-model `dbt run`: 1.20-1.34 s against 0.19-0.24 s;
0.41-0.42 s first after the warm-up): dbt generates and compiles the
code that (de)serialises each of its classes the first time it meets them (its saved parse, its
nodes), builds the JSON schemas it validates a project and a run with, and reads Python sources
for its adapter's behaviour flags. Those are caches of dbt's classes, not of any project, so a
throwaway project warms them for Vigil's. The first build parses and saves its parse; the
second starts from it, the path a batch's commands take.

It parses without dbt's static parser (`--no-static-parser`, Jinja instead): that parser
(`dbt_extractor`) starts native threads of its own, which a process forked from the server does
not inherit, and a run's own parse then waited for them forever (the first batch of a
`bench-live` hung so). The warm-up adds no thread to the server (tests/orchestration/test_dbt_warmup.py).

Nothing else stays: the folder is removed, dbt's database closed, dbt's event loggers released,
and the Vigil modules the warm-up imports (`orchestration.defs.dbt.in_process`, for those last
two) dropped again, so a run imports Vigil's code from disk as before. A failure is logged and
swallowed: the runs then start cold, as they did without it.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT = """\
name: vigil_dbt_warmup
version: "1.0"
config-version: 2
profile: vigil_dbt_warmup
"""
PROFILE = """\
vigil_dbt_warmup:
  target: memory
  outputs:
    memory:
      type: duckdb
      path: ":memory:"
      threads: 1
"""
MODEL = "select 1 as id\n"
MODEL_YML = """\
models:
  - name: warmup
    columns:
      - name: id
        data_tests: [not_null]
"""
VIGIL_PACKAGES = ("ml", "orchestration")


def _build_twice(folder: Path) -> bool:
    from dbt.cli.main import dbtRunner

    (folder / "models").mkdir()
    (folder / "dbt_project.yml").write_text(PROJECT)
    (folder / "profiles.yml").write_text(PROFILE)
    (folder / "models" / "warmup.sql").write_text(MODEL)
    (folder / "models" / "_warmup.yml").write_text(MODEL_YML)
    args = [
        "build",
        *("--project-dir", str(folder), "--profiles-dir", str(folder)),
        *("--target-path", str(folder / "target"), "--log-path", str(folder / "logs")),
        *("--log-level", "none", "--log-level-file", "none", "--no-write-json", "--no-send-anonymous-usage-stats"),
        "--no-static-parser",  # see the module docstring
    ]
    return all(dbtRunner().invoke(args).success for _ in range(2))  # the second from the first's parse


def _vigil_modules() -> set[str]:
    return {name for name in sys.modules if name.split(".")[0] in VIGIL_PACKAGES}


def warm_up() -> bool:
    """Run the two builds; True if both succeeded. Never raises."""
    before = _vigil_modules()
    try:
        from orchestration.defs.dbt.in_process import close_duckdb, process_logging_kept

        with tempfile.TemporaryDirectory(prefix="vigil_dbt_warmup_") as tmp, process_logging_kept():
            try:
                return _build_twice(Path(tmp))
            finally:
                close_duckdb()
    except Exception:  # noqa: BLE001 (a cold start is the worst it may cause)
        log.warning("dbt warm-up failed: the near-real-time runs start without it", exc_info=True)
        return False
    finally:
        for name in sorted(_vigil_modules() - before, reverse=True):  # submodules first
            module = sys.modules.pop(name)
            package, _, child = name.rpartition(".")
            if getattr(sys.modules.get(package), child, None) is module:
                delattr(sys.modules[package], child)


WARMED = warm_up()
