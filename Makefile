# Vigil: `make demo` runs the pipeline end to end, `make test` runs the tests.
# Both install what they need (uv, then the locked environment in .venv) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export VIGIL_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(VIGIL_DATA_DIR)/dagster_home
# uv from PATH, else the one pip installed as a module.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --locked --no-sync
DBT_PROJECT_FILE := orchestration/defs/dbt/project.py

.PHONY: help install demo pipeline report test postgresql chromium dev mlflow lint bench bench-daily bench-scoring live bench-live bench-catch clean

help:
	@echo "make demo      simulate a marketplace and run the whole pipeline on local DuckDB"
	@echo "make pipeline  run the pipeline on an existing landing folder (VIGIL_LANDING_DIR=...)"
	@echo "make report DAY=YYYY-MM-DD  write the review-queue page of a scored day (read-only)"
	@echo "make test      run the test suite"
	@echo "make dev       Dagster UI on http://127.0.0.1:3000 against the same local warehouse"
	@echo "make mlflow    MLflow UI on http://127.0.0.1:5000 over the local tracking store"
	@echo "make bench     stage timings and peak memory at demo size and 10x, then bench-daily"
	@echo "make bench-daily  the daily run against a one-pass reference query (1x/10x accounts, 9/18 months)"
	@echo "make bench-scoring  scoring throughput with the champion (after make demo)"
	@echo "make live      replay a simulated marketplace into a landing folder, with the sensor on (LIVE_RATE=events/s)"
	@echo "make bench-live  near-real-time latency at 1,000 events/s for 10 minutes"
	@echo "make bench-catch  how soon takeovers and stolen cards are caught, near-real-time vs daily (after make demo)"
	@echo "make lint      ruff on the Python code"
	@echo "make clean     delete generated data ($(VIGIL_DATA_DIR)) and dbt artefacts"

# --compile-bytecode: the installed packages' .pyc are written once here. Without them every
# Python process (a run, a dbt command, a test) compiles what it imports from source where
# PYTHONDONTWRITEBYTECODE is set, as on the machine it was measured on: 15 s vs 9 s to import a
# batch run's libraries, instance and definitions (BENCHMARKS.md, "Near-real-time path").
.venv/.vigil-installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --locked --compile-bytecode
	@touch $@

install: .venv/.vigil-installed

dbt_project/target/manifest.json: .venv/.vigil-installed $(shell find dbt_project/models dbt_project/macros dbt_project/tests dbt_project/seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
	$(RUN) dagster-dbt project prepare-and-package --file $(DBT_PROJECT_FILE)

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp $< $@

demo: install dbt_project/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(RUN) python -m orchestration.demo

pipeline: install dbt_project/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(RUN) python -m orchestration.demo --no-simulate

# The review-queue page of a scored day, from the existing warehouse (read-only), under
# $(VIGIL_DATA_DIR)/reports/.
report: install
	@test -n "$(DAY)" || { echo "usage: make report DAY=YYYY-MM-DD"; exit 2; }
	$(RUN) python -m ml.monitor.report --day $(DAY)

test: install dbt_project/target/manifest.json postgresql chromium
	$(RUN) pytest -q

# The reverse-ETL tests start a throwaway PostgreSQL server (Debian's package): install it when
# its binaries are missing and we may (root with apt-get, as in CI); otherwise those tests skip.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
			&& apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } \
		|| echo "PostgreSQL is not installed and cannot be installed here: the reverse-ETL tests will skip"

# The browser tests drive a headless Chromium (Debian's package), installed the same way;
# without it they skip. Their screenshots go to test-artifacts/ (kept by CI, never committed).
chromium:
	@command -v chromium >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
			&& apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } \
		|| echo "Chromium is not installed and cannot be installed here: the browser tests will skip"

dev: install dbt_project/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(RUN) dagster dev -w workspace.yaml

# The local MLflow store (SQLite + artifact folder) that training writes to.
MLFLOW_PORT ?= 5000
mlflow: install
	@test -f $(VIGIL_DATA_DIR)/mlflow/mlflow.db || { echo "no $(VIGIL_DATA_DIR)/mlflow/mlflow.db yet: run make demo first"; exit 1; }
	$(RUN) mlflow ui --backend-store-uri sqlite:///$(VIGIL_DATA_DIR)/mlflow/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

# Stage timings and peak memory at the demo size and at 10x, then the daily run against its
# reference passes (takes a while; see README and BENCHMARKS.md).
BENCH_ACCOUNTS ?= 20000 200000
bench: install
	$(RUN) python -m bench.pipeline --accounts $(BENCH_ACCOUNTS)
	$(MAKE) bench-daily

BENCH_DAILY_ACCOUNTS ?= 20000
bench-daily: install
	$(RUN) python -m bench.daily --accounts $(BENCH_DAILY_ACCOUNTS)

bench-scoring: install
	$(RUN) python -m bench.scoring

# The near-real-time path (bench/live.py). Both prepare $(VIGIL_DATA_DIR)/live/base once (a
# simulated world, its last 45 days held back, the pipeline on the rest: ~10 minutes), then
# replay the held-back rows into a fresh copy under $(VIGIL_DATA_DIR)/live/run. `make live`
# serves its own Dagster UI on LIVE_UI_PORT, so it runs alongside `make dev` (port 3000).
LIVE_RATE ?= 50
LIVE_MINUTES ?= 0
LIVE_UI_PORT ?= 3001
live: install dbt_project/target/manifest.json
	$(RUN) python -m bench.live --watch --rate $(LIVE_RATE) --minutes $(LIVE_MINUTES) --ui-port $(LIVE_UI_PORT)

BENCH_LIVE_RATE ?= 1000
BENCH_LIVE_MINUTES ?= 10
bench-live: install dbt_project/target/manifest.json
	$(RUN) python -m bench.live --rate $(BENCH_LIVE_RATE) --minutes $(BENCH_LIVE_MINUTES)

# Time to catch takeovers and stolen-card fraud on the demo's ground truth, near-real-time
# vs daily only (bench/catch_time.py; ~6 minutes on a scratch copy of the demo warehouse).
bench-catch: install
	$(RUN) python -m bench.catch_time

lint: install
	$(RUN) ruff check ml orchestration tests bench
	$(RUN) ruff format --check ml orchestration tests bench

clean:
	rm -rf $(VIGIL_DATA_DIR) dbt_project/target dbt_project/logs
