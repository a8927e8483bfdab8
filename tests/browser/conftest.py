"""A Voila server for the dashboard on a free loopback port, and a headless Chromium."""

import os
import shutil
import urllib.request

import pytest

from serving import CHROMIUM_ARGS, serve_dashboard


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    """The running Voila server process; its url attribute is the dashboard's address."""
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with serve_dashboard(log) as server:
        urllib.request.urlopen(server.url, timeout=60).close()
        yield server
    # the notebook failing to run, or an app callback failing (logged by digitlib.dashboard.guarded); Tornado's
    # tracebacks about writing to the socket of a page that just closed are server noise, not the app's
    text = log.read_text()
    for failure in ("Error at server while executing cell", "dashboard callback failed"):
        assert failure not in text, text[text.index(failure) - 500 :][:4000]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        options = {"executable_path": chromium} if os.path.exists(chromium) else {}  # else Playwright's own browser
        b = p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
        yield b
        b.close()
