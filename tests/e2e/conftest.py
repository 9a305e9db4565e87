"""Browser tests: the real server in a subprocess, Debian's Chromium driven by Playwright (sync API).

Fixtures: `server_url`, `browser`, `context` (session), `page` (a fresh 1280×720 page whose console
errors are collected in `page.console_errors`), `artifacts` (test-artifacts/, gitignored, for
screenshots). Every test module here is skipped when /usr/bin/chromium is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live_server import ROOT, free_port, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Skip the browser tests, with the reason, where Debian's Chromium is not installed."""
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM}")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    port = free_port()
    db = tmp_path_factory.mktemp("e2e") / "runs.sqlite3"
    process = start_server(port, tmp_path_factory.getbasetemp() / "e2e-server.log", "--db", str(db), "--workers", "1")
    yield f"http://127.0.0.1:{port}"
    stop_server(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def context(browser):
    """One browser context for the session: pages share its HTTP cache (plotly.js loads once)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
