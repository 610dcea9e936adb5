"""The browser's fixtures: Debian's chromium driven by Playwright (a Playwright browser
download is not possible here), a fresh profile per test, and one real server for them all.
`make test` installs chromium where it can (scripts/ensure-debian-package.sh); the tests here
are skipped when it is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers import start_server

HERE = Path(__file__).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root and on a closed network: no sandbox, and no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def pytest_collection_modifyitems(items):
    # A hook of a conftest sees every collected test, not only those below it.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if CHROMIUM is None:
                # A user's machine may lack it; CI must not pass by skipping what a reader sees.
                if os.environ.get("CI"):
                    raise pytest.UsageError(
                        "CI: chromium is not installed, so the browser tests "
                        "cannot run (make test installs it: "
                        "scripts/ensure-debian-package.sh)"
                    )
                item.add_marker(pytest.mark.skip(reason="chromium is not installed"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real `nbshare serve` shared by the browser tests."""
    live = start_server(tmp_path_factory.mktemp("browser-server"))
    yield live
    live.stop()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test: no cookies, no storage."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()
