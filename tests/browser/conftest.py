"""Browser tests: headless Chromium on the pages Vigil writes and on the Dagster UI."""

import pytest

from tests.browser.chromium import ARTIFACTS, find_or_install


@pytest.fixture(scope="session")
def chromium() -> str:
    return find_or_install()


@pytest.fixture(scope="session")
def artifacts() -> object:
    """Where screenshots go (test-artifacts/, kept by CI)."""
    folder = ARTIFACTS / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
