"""Helpers for serving the dashboard on a free loopback port, to a headless browser or to plain HTTP requests."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from digitlib.constants import ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernels(server):
    """The kernel processes the Voila server started (and still running)."""
    running = []
    for p in psutil.Process(server.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a kernel may end (culled, shut down) as we look
            if "ipykernel" in " ".join(p.cmdline()):
                running.append(p)
    return running


def cpu_percent(processes):
    """Total CPU use of the processes still running, since the last call for each."""
    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.cpu_percent(None)
    return total


def wait_until_warm(server, timeout=90):
    """Wait until the server's kernels are idle: the pool's kernels have run the notebook and wait for visitors.

    Voila reports its pool "filled" once the kernels start, before they have run the notebook.
    """
    time.sleep(1)  # a kernel for the pool may be about to start
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = kernels(server)
        cpu_percent(running)  # starts the measurement
        time.sleep(1)
        if running and cpu_percent(running) < 10:
            return
    pytest.fail("Voila's kernels stayed busy")


@contextlib.contextmanager
def serve_dashboard(log, *options, env=None):
    """Voila serving notebooks/06_dashboard.ipynb (voila.json plus `options`, and `env` added to its environment)
    with its pool warm; the server process's url attribute is the dashboard's address. Its output goes to the file
    `log`."""
    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voila",
                "notebooks/06_dashboard.ipynb",
                f"--port={port}",
                "--no-browser",
                "--Voila.ip=127.0.0.1",
                *options,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server.url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while "is filled with" not in log.read_text():  # the pool of preheated kernels is ready
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Voila did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        wait_until_warm(server)
        yield server
    finally:
        stop(server)


def stop(server):
    """Stop the server, and kill it and its kernels if it does not stop within 20 s (its event loop stuck)."""
    children = []
    with contextlib.suppress(psutil.NoSuchProcess):
        children = psutil.Process(server.pid).children(recursive=True)
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        for p in [*children, server]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        server.wait(timeout=20)


@contextlib.contextmanager
def serve_api(log, *options):
    """`python -m digitlib serve` (the HTTP API and its drawing page) on a free loopback port, once /healthz answers;
    the server process's url attribute is its address. Its output goes to the file `log`."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log, "w") as out:
        command = [sys.executable, "-m", "digitlib", "serve", f"--port={port}", "--log-level=warning", *options]
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    server.url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{server.url}healthz", timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the API did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield server
    finally:
        stop(server)
