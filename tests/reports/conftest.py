"""Fixtures for the report / export / delivery tests: the hand-built RunView (report_fixtures),
and the Chromium helper (skip when absent, fail when CI=true)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from audit.store.views import RunView
from report_fixtures import make_run

@pytest.fixture
def run_view() -> RunView:
    return make_run()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def chromium_path() -> str:
    """Path to headless Chromium; skip when absent unless CI=true, where absence fails."""
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return path
