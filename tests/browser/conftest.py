"""A Voila server for the dashboard and the HTTP API with its drawing page, each on a free loopback port, and a
headless Chromium."""

import os
import shutil
import urllib.request

import pytest
from serving import CHROMIUM_ARGS, serve_api, serve_dashboard

from digitlib.constants import DATA_ENV
from digitlib.data.corrections import CORRECTIONS_ENV


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    """The running Voila server process; its url attribute is the dashboard's address."""
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    data = tmp_path_factory.mktemp("data")  # the kernels' data folder, where corrections are saved
    # each test opens pages of its own, and a closed page's kernel lives until culled (120 s idle): over a session
    # that is more kernels than the shipped ceiling of 12, which tests/test_serving.py tests on a server of its own
    env = {DATA_ENV: str(data), CORRECTIONS_ENV: "on"}  # corrections saved, as `make dashboard` saves them
    # and no kernel is shut down for want of a page while the tests' many pages load on a busy machine (the
    # connect_timeout that does so is tested by tests/test_serving.py on servers of its own)
    options = ["--CappedKernelManager.max_kernels=40", "--CappedKernelManager.connect_timeout=600"]
    with serve_dashboard(log, *options, env=env) as server:
        server.data_dir = data
        urllib.request.urlopen(server.url, timeout=60).close()
        yield server
    # the notebook failing to run, or an app callback failing (logged by digitlib.apps.dashboard.guarded); Tornado's
    # tracebacks about writing to the socket of a page that just closed are server noise, not the app's
    text = log.read_text()
    for failure in ("Error at server while executing cell", "dashboard callback failed"):
        assert failure not in text, text[text.index(failure) - 500 :][:4000]


@pytest.fixture(scope="session")
def api(tmp_path_factory):
    """The running HTTP API (`python -m digitlib serve`, one worker); its url attribute is the drawing page's
    address. Its log must hold no traceback."""
    log = tmp_path_factory.mktemp("api") / "api.log"
    with serve_api(log) as server:
        yield server
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


@pytest.fixture(scope="module")  # not the session: Playwright's sync API holds an event loop in the main thread while
def browser():  # it is open, which asyncio code and the dashboard's deferred explanations in later tests would meet
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        options = {"executable_path": chromium} if os.path.exists(chromium) else {}  # else Playwright's own browser
        b = p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
        yield b
        b.close()
