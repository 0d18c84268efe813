"""Benchmark the pipeline stages at a given simulated size: `make bench` (see README).

Runs each stage as a separate process (so peak memory is per stage) on a scratch data folder:
simulate -> ingest -> dbt staging+intermediate -> features (dbt runs of
VIGIL_BACKFILL_DAYS_PER_RUN days, as a Dagster backfill does; `--days-per-run`) -> labels.
Prints a table and appends it to bench/results/. `--scratch DIR --stages features labels`
resumes a folder kept by `--keep` at a later stage (one size only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ml import settings

ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one stage, measured by GNU time (`%M`, KiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", rss.name, "-f", "%M", *cmd], env=env, cwd=ROOT, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        peak_kib = int(rss.read().strip().splitlines()[-1])
    return wall, peak_kib / 1024


STAGES = ("simulate", "ingest", "staging", "features", "labels")


def _chunks(start: date, end: date, days: int) -> list[tuple[date, date]]:
    chunks, day = [], start
    while day <= end:
        last = min(day + timedelta(days=days - 1), end)
        chunks.append((day, last))
        day = last + timedelta(days=1)
    return chunks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--end", default="2026-09-30")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data folders")
    parser.add_argument(
        "--days-per-run",
        type=int,
        default=settings.backfill_days_per_run(),
        help="as-of days per feature run (default: VIGIL_BACKFILL_DAYS_PER_RUN, else 31)",
    )
    parser.add_argument("--scratch", type=Path, help="use this (kept) scratch folder; implies --keep")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to run")
    args = parser.parse_args(argv)
    if args.days_per_run < 1:
        parser.error("--days-per-run must be at least 1")
    if args.scratch and len(args.accounts) != 1:
        parser.error("--scratch takes one --accounts size")
    if not Path("/usr/bin/time").exists():
        raise SystemExit("make bench measures peak memory with GNU time: apt-get install time")

    rows = []
    for accounts in args.accounts:
        scratch = args.scratch or Path(tempfile.mkdtemp(prefix=f"vigil-bench-{accounts}-"))
        env = {**os.environ, "VIGIL_DATA_DIR": str(scratch), "VIGIL_DBT_TARGET": "local"}
        env["VIGIL_DUCKDB_PATH"] = str(scratch / "warehouse.duckdb")
        dbt = [DBT, "--no-use-colors"]
        project = [
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
            "--target-path",
            str(scratch / "dbt_target"),
            "--log-path",
            str(scratch / "dbt_logs"),
        ]
        stages = [
            (
                "simulate",
                "simulate",
                [
                    sys.executable,
                    "-m",
                    "ml.simulate",
                    "--accounts",
                    str(accounts),
                    "--start",
                    args.start,
                    "--end",
                    args.end,
                ],
            ),
            (
                "ingest",
                "ingest",
                [
                    sys.executable,
                    "-c",
                    "from ml import settings; from ml.ingest.load import ingest_landing;"
                    " from ml.warehouse import Role, warehouse_from_env;"
                    " r = ingest_landing(warehouse_from_env(role=Role.LOADER), settings.landing_dir(), run_id='bench');"
                    " print(r.rows_loaded, r.rows_quarantined)",
                ],
            ),
            ("staging", "dbt staging+intermediate", [*dbt, "build", *project, "--exclude", "marts"]),
        ]
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
        chunks = _chunks(start, end, args.days_per_run)
        for first, last in chunks:
            stages.append(
                (
                    "features",
                    f"features {first}..{last}",
                    [
                        *dbt,
                        "run",
                        *project,
                        "--select",
                        "fct_account_features_daily",
                        "--vars",
                        json.dumps({"min_date": str(first), "max_date": str(last)}),
                    ],
                )
            )
        stages.append(("labels", "labels", [*dbt, "run", *project, "--select", "fct_account_labels_daily"]))

        results = []
        for stage, name, cmd in stages:
            if stage not in args.stages:
                continue
            wall, peak = _run(cmd, env)
            results.append((name, wall, peak))
            print(f"{accounts:>9,} accounts  {name:<34} {wall:8.1f} s  peak {peak:8.0f} MiB", flush=True)
        features = [(w, p) for n, w, p in results if n.startswith("features")]
        feature_wall = sum(w for w, _ in features)
        feature_peak = max((p for _, p in features), default=0.0)
        rows.append(
            {
                "accounts": accounts,
                "scratch": str(scratch),
                "days_per_run": args.days_per_run,
                "stages": results,
                "features_total_s": feature_wall,
                "features_peak_mib": feature_peak,
            }
        )
        if features:
            print(
                f"{accounts:>9,} accounts  features, all {len(features)} runs of up to {args.days_per_run} days:"
                f" {feature_wall:.1f} s, peak {feature_peak:.0f} MiB",
                flush=True,
            )
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "when": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "command": "make bench (python -m bench.pipeline " + " ".join(argv or sys.argv[1:]) + ")",
        "runs": rows,
    }
    (out / f"pipeline-{stamp}.local.json").write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
