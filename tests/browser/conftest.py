"""A Voila server for the dashboard on a free loopback port, and a headless Chromium."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from digitlib.constants import ROOT
from serving import CHROMIUM_ARGS, free_port, wait_until_warm


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    """The running Voila server process; its url attribute is the dashboard's address."""
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "voila", "notebooks/06_dashboard.ipynb", f"--port={port}",
                                   "--no-browser", "--Voila.ip=127.0.0.1"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while "is filled with" not in log.read_text():  # the pool of preheated kernels is ready
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Voila did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        wait_until_warm(server)
        urllib.request.urlopen(url, timeout=60).close()
        server.url = url
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
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
