"""Helpers for serving the dashboard to a headless browser in tests."""

import socket
import time

import psutil
import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_warm(server, timeout=90):
    """Wait until the server's kernels are idle: the pool's kernels have run the notebook and wait for visitors.

    Voila reports its pool "filled" once the kernels start, before they have run the notebook.
    """
    time.sleep(1)  # a kernel for the pool may be about to start
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kernels = [p for p in psutil.Process(server.pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
        for p in kernels:
            p.cpu_percent(None)  # starts the measurement
        time.sleep(1)
        if kernels and sum(p.cpu_percent(None) for p in kernels) < 10:
            return
    pytest.fail("Voila's kernels stayed busy")
