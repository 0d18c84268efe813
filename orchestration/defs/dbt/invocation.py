"""Every dbt command Vigil runs from Dagster: in the run's own process, with a warm parse, and
with its artifacts kept in bounds.

- **Warm parse.** dagster-dbt gives each command a fresh target folder seeded with the
  project's `target/partial_parse.msgpack`, written by `prepare-and-package` with dbt's default
  profile. dbt discards a saved parse whose profile (warehouse path, memory cap, threads) or
  `--vars` differ from the command's and parses the whole project again, 7-10 s here, so every
  command Vigil ran (always on its own warehouse) parsed from scratch. Each command is now seeded
  with the parse saved by the last successful command with the same profile variables and
  vars, and saves its own back. dbt still checks a seeded parse (files, profile, vars, version,
  the environment variables each file read) and parses again what does not match: a stale
  cache costs time, never correctness.
- **The day in the environment, not in the vars.** A feature build's as-of days change every
  day; as `--vars` they would make each day's command parse the whole project. They go to dbt
  as `VIGIL_FEATURES_MIN_DATE`/`VIGIL_FEATURES_MAX_DATE` (`feature_days_env`, read by the
  `feature_date` macro, which reads them only when a node runs, not while dbt parses), so the
  day's command starts from the last parse and re-parses nothing. They are set for that
  command only, never left in the process for the next one.
- **In the run's process.** Each command runs with dbt's programmatic entry point in a thread
  of the run's process (`in_process.py`) instead of a new Python process per command, and the
  dbt version dagster-dbt asks for comes from the installed package, not from `dbt --version`
  (3.6-4 s, once per run).
- **No adapter for metadata.** dagster-dbt opens a dbt adapter in the run's process for each
  command (4 s on an idle machine, 16 s beside the daily run) for row counts and column
  metadata, which Vigil does not fetch.
- **Bounded artifacts.** Each command leaves a folder (manifest, run results, dbt.log: ~10 MB).
  A near-real-time batch every few seconds would fill a disk within a day, so only the newest
  `KEEP_FOLDERS` of each asset stay.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from packaging import version

from orchestration.defs.dbt.in_process import dbt_in_process, scoped_environ

PARTIAL_PARSE = "partial_parse.msgpack"
PARSE_CACHE = "vigil_parse_cache"  # under the project's target folder
# A near-real-time batch's commands write no manifest.json or run_results.json in their folder
# (dbt.log, the saved parse and Dagster's events stay): ~0.2 s a command, two a batch, every
# few seconds; and their dbt.log at info, not debug: every statement dbt sends and every
# connection it opens is a debug line (~2,000 lines, 3 MB a build), which dbt's threads write
# one at a time, 0.3-0.4 s of a batch's build. Its nodes, results, warnings and errors stay. Every
# other command keeps both.
NEAR_REAL_TIME_FLAGS = ("--no-write-json", "--log-level-file", "info")
KEEP_FOLDERS = 20
KEEP_PARSES = 20
SECRET_PREFIX = "DBT_ENV_SECRET_"  # dbt's own convention (profiles.yml): never hashed or stored
FEATURE_DATE_VARIABLES = ("VIGIL_FEATURES_MIN_DATE", "VIGIL_FEATURES_MAX_DATE")  # macros/features.sql
_ENV_VAR = re.compile(r"env_var\(\s*['\"]([A-Za-z0-9_]+)['\"]")


class VigilDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it opens in the run's process for every
    command: the adapter serves row counts and column metadata only, which Vigil does not
    fetch. dagster-dbt takes the same path (no adapter) for the dbt Fusion engine. It also reads
    the version of the dbt installed beside this Python instead of running `dbt --version`."""

    # Run each command in the run's own process (orchestration/defs/dbt/in_process.py).
    in_process: bool = False

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):  # noqa: ARG002 (dagster-dbt's signature)
        return None

    def cli(self, args: Sequence[str], **kwargs) -> DbtCliInvocation:
        # Only the dbt installed here can run in this process; another executable runs as itself.
        if not (self.in_process and installed_beside_python(self.dbt_executable)):
            return super().cli(args, **kwargs)
        with dbt_in_process():
            return super().cli(args, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt runs `dbt --version` once per run's resource: 3.6-4 s on an idle machine
        # (it imports every adapter), seconds a near-real-time batch cannot spare. The dbt
        # beside this interpreter is the dbt-core package installed here: its version is in the
        # package metadata. Any other executable still answers for itself.
        if installed_beside_python(self.dbt_executable):
            return version.parse(importlib.metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)


def installed_beside_python(executable: str) -> bool:
    """Whether `executable` (a name on PATH or a path) is the one in this interpreter's
    environment (`<sys.prefix>/bin`), i.e. the entry point of the packages installed here."""
    found = shutil.which(executable)
    return found is not None and Path(found).resolve() == (Path(sys.prefix) / "bin" / Path(found).name).resolve()


def profile_variables(profiles_yml: Path) -> tuple[str, ...]:
    """The environment variables profiles.yml reads, secrets left out: a change re-parses."""
    names = set(_ENV_VAR.findall(profiles_yml.read_text()))
    return tuple(sorted(name for name in names if not name.startswith(SECRET_PREFIX)))


def parse_key(args: Sequence[str], environ: Mapping[str, str], variables: Sequence[str]) -> str:
    """What a saved parse is valid for: the command's `--vars` and the profile's `variables`
    (only a hash of them is kept: the cache file's name)."""
    cli_vars = json.loads(args[list(args).index("--vars") + 1]) if "--vars" in args else {}
    profile = {name: environ.get(name, "") for name in variables}
    return hashlib.sha256(json.dumps([cli_vars, profile], sort_keys=True).encode()).hexdigest()[:24]


def feature_days_env(start_day: str, end_day: str) -> dict[str, str]:
    """The environment of a feature build for the as-of days `start_day`..`end_day` (inclusive,
    YYYY-MM-DD): the `feature_date` macro reads it when the vars name no day."""
    return dict(zip(FEATURE_DATE_VARIABLES, (start_day, end_day), strict=True))


def _newest_first(paths: list[Path]) -> list[Path]:
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:
            return 0.0

    return sorted(paths, key=mtime, reverse=True)


def prune(target_dir: Path, name: str, keep: int = KEEP_FOLDERS) -> list[Path]:
    """Remove all but the newest `keep` command folders of `name`; return those removed."""
    folders = [p for p in target_dir.glob(f"{name}-*") if p.is_dir()]
    removed = _newest_first(folders)[keep:]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def _save_parse(folder: Path, cache: Path, key: str) -> None:
    saved = folder / PARTIAL_PARSE
    if not saved.is_file():
        return
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
    shutil.copyfile(saved, partial)
    os.replace(partial, cache / f"{key}.msgpack")  # atomic: a concurrent reader sees old or new
    for stale in _newest_first(list(cache.glob("*.msgpack")))[KEEP_PARSES:]:
        stale.unlink(missing_ok=True)


@contextmanager
def dbt_command(
    dbt: DbtCliResource,
    args: Sequence[str],
    *,
    name: str,
    run_id: str,
    env: Mapping[str, str],
    command_env: Mapping[str, str] | None = None,
    context: dg.AssetExecutionContext | None = None,
    manifest: Path | None = None,
) -> Iterator[DbtCliInvocation]:
    """Start `dbt <args>` with `env` (the warehouse's, `WarehouseResource.dbt_env`) and
    `command_env` (this command's only, e.g. `feature_days_env`) in a new target folder
    `<name>-<run>-<uid>` seeded with the saved parse for its vars and profile; the caller
    streams or waits inside the block. On success the command's parse is saved for the next
    one; the folders of `name` are pruned either way (a failed command's folder stays among
    the newest)."""
    # dbt runs as a subprocess that inherits this process's environment.
    os.environ.update(env)
    project = Path(dbt.project_dir)
    target_dir = project / "target"
    folder = target_dir / f"{name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    folder.mkdir(parents=True)
    variables = profile_variables(Path(dbt.profiles_dir or project) / "profiles.yml")
    cache, key = target_dir / PARSE_CACHE, parse_key(args, os.environ, variables)
    if (cache / f"{key}.msgpack").is_file():
        shutil.copyfile(cache / f"{key}.msgpack", folder / PARTIAL_PARSE)
    try:
        # Until the command ends: a dbt running in this process reads them as it runs.
        with scoped_environ(command_env or {}):
            invocation = dbt.cli(list(args), context=context, manifest=manifest, target_path=folder)
            yield invocation
        _save_parse(folder, cache, key)
    finally:
        prune(target_dir, name, KEEP_FOLDERS)
