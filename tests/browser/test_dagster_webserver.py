"""Smoke test of the Dagster UI: `dagster-webserver` on a free loopback port against a throwaway
instance lists Vigil's assets, asset checks, schedules and sensors (GraphQL), queues a partitioned
run, and its asset graph renders in headless Chromium (screenshot kept as a test artefact)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.browser.chromium import ROOT, dump_dom, parse, screenshot

LOCATION, REPOSITORY = "vigil", "__repository__"
PARTITION = "2026-05-15"
STARTUP_SECONDS = 300  # loading the definitions parses the dbt manifest; slow on a busy machine

REPOSITORY_QUERY = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        jobs { name }
        schedules { name }
        sensors { name }
        assetNodes {
          assetKey { path }
          assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status tags { key value } } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    if not (ROOT / "dbt_project" / "target" / "manifest.json").is_file():
        pytest.skip("no dbt manifest: `make dbt_project/target/manifest.json` (make test builds it)")
    root = tmp_path_factory.mktemp("webserver")
    home = root / "dagster_home"
    home.mkdir()
    # The project's instance settings, without the first-visit "join the community" dialog.
    instance = (ROOT / "orchestration" / "dagster.yaml").read_text() + "\nnux:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(instance)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIGIL_DUCKDB_PATH", "MLFLOW_TRACKING_URI")},
        "DAGSTER_HOME": str(home),
        "VIGIL_DATA_DIR": str(root / "data"),
    }
    command = [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
    log = (root / "webserver.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                tail = (root / "webserver.log").read_text()[-3000:]
                pytest.fail(f"dagster-webserver exited with {process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    tail = (root / "webserver.log").read_text()[-3000:]
                    pytest.fail(f"dagster-webserver not up after {STARTUP_SECONDS}s: {tail}")
                time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # our own process group only (start_new_session)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def repository(webserver) -> dict:
    nodes = _graphql(webserver, REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    (repo,) = [n for n in nodes if n["location"]["name"] == LOCATION]
    return repo


def test_the_ui_lists_the_vigil_assets_and_their_checks(repository):
    assets = {"/".join(a["assetKey"]["path"]): a for a in repository["assetNodes"]}
    assert {
        "ingest/file_ledger",
        "marts/fct_account_features_daily",
        "marts/fct_account_labels_daily",
        "ml/champion_model",
        "risk/account_risk_scores",
        "risk/enforcement_sync",
        "ml/restated_performance",
    } <= set(assets)
    checks = {c["name"]: c["blocking"] for c in assets["risk/account_risk_scores"]["assetChecksOrError"]["checks"]}
    assert checks["features_arriving"] is True  # a dead feature blocks the sync
    assert checks["feature_drift"] is False and checks["score_drift"] is False
    restated = assets["ml/restated_performance"]["assetChecksOrError"]["checks"]
    assert [c["name"] for c in restated] == ["restated_performance_holds"]


def test_the_ui_lists_the_schedules_sensors_and_jobs(repository):
    assert {s["name"] for s in repository["schedules"]} >= {"daily_schedule", "weekly_retrain"}
    assert "matured_days_sensor" in {s["name"] for s in repository["sensors"]}
    assert {"daily", "score", "retrain", "restate_performance"} <= {j["name"] for j in repository["jobs"]}


def test_a_partitioned_run_can_be_launched_through_graphql(webserver):
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "restate_performance",
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": PARTITION}]},
    }
    launched = _graphql(webserver, LAUNCH, {"params": params})["launchRun"]

    assert launched["__typename"] == "LaunchRunSuccess", launched
    run = launched["run"]
    assert {"key": "dagster/partition", "value": PARTITION} in run["tags"]
    # The instance queues runs (orchestration/dagster.yaml); no daemon runs here, so it stays queued.
    assert run["status"] == "QUEUED"


def _rendered(chromium: str, url: str, expected: str):
    """The page's DOM once `expected` shows (the UI draws after its GraphQL answers arrive, whose
    time a busy machine stretches): up to three loads, each allowed more time."""
    for wait_ms in (20_000, 40_000, 80_000):
        document = parse(dump_dom(chromium, url, wait_ms=wait_ms, timeout=300))
        if expected in document.text():
            break
    return document


def test_the_asset_graph_renders_in_a_browser(webserver, chromium, artifacts):
    lineage, scoring = f"{webserver}/asset-groups", f"{webserver}/locations/{LOCATION}/asset-groups/scoring"
    shot = screenshot(
        chromium, lineage, artifacts / "dagster_asset_graph.png", size=(1600, 1000), wait_ms=30_000, timeout=240
    )
    screenshot(
        chromium, scoring, artifacts / "dagster_scoring_group.png", size=(1600, 1000), wait_ms=30_000, timeout=240
    )
    whole, group = _rendered(chromium, lineage, "scoring"), _rendered(chromium, scoring, "enforcement_sync")

    assert "Join the Dagster community" not in whole.text()
    assert {"ingestion", "marts", "ml", "scoring", "monitoring"} <= set(whole.text().split())
    shown = group.text()
    # The group's assets and their neighbours; the UI shortens a long name to fit its box.
    assert re.search(r"account_r\S*scores", shown), shown[:2000]
    assert {"enforcement_sync", "champion_model", "fct_account_features_daily", "restated_performance"} <= set(
        shown.split()
    )
    assert shot.stat().st_size > 20_000  # a drawn graph, not a blank page
