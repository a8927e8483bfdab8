"""Smoke test of the container image, from outside as a client sees it (`make smoke` builds the image first):

- the API (the image's default command): /healthz answers, a drawn 3 posted to /predict is read as 3;
- the dashboard (Voila): its page loads, and a light page (tests/browser/pages.py: the page's own messages over the
  kernel's websocket, no browser) draws a 7 and sees it read as 7;
- each container runs as a user other than root, and the image's HEALTHCHECK reports it healthy;
- the image's size.

Each container publishes its port on a free loopback port; both are removed at the end, passed or failed.
ENGINE (docker or podman; default: docker if its daemon answers, else podman) and IMAGE (default digitlib) choose.
Exit status 0 only when every check passed; each check prints one line.

    ENGINE=podman .venv/bin/python deploy/smoke.py
"""

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

from pages import visitor_reads  # noqa: E402
from strokes import strokes  # noqa: E402

from digitlib.reading.strokes import PEN, render  # noqa: E402

IMAGE = os.environ.get("IMAGE", "digitlib")
ENGINE = os.environ.get("ENGINE") or (
    "docker" if subprocess.run(["docker", "info"], capture_output=True).returncode == 0 else "podman"
)
START_S = 120  # a container's server must answer within this
HEALTHY_S = 120  # and its healthcheck say healthy within this (docker's first check runs 30 s after start)


def engine(*args, check=True):
    """stdout of `ENGINE args`; raises with its stderr when it fails and check is set."""
    result = subprocess.run([ENGINE, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{ENGINE} {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def logs(name):
    """A container's output, its stdout and stderr together."""
    result = subprocess.run([ENGINE, "logs", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, inside, *command):
    """Start a container of the image with its port `inside` on a free loopback port; returns that port."""
    port = free_port()
    engine("rm", "-f", name, check=False)
    engine("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{inside}", IMAGE, *command)
    return port


def wait_for(url, name, began):
    """Seconds from `began` until url answers 200; fails with the container's log if it does not within START_S."""
    while time.monotonic() - began < START_S:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return time.monotonic() - began
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {START_S} s; {name}'s log:\n{logs(name)}")


def healthy(name):
    """Seconds until the image's HEALTHCHECK says healthy (podman runs it on demand: no systemd timers here)."""
    began = time.monotonic()
    status = ""
    while time.monotonic() - began < HEALTHY_S:
        if ENGINE == "podman":
            engine("healthcheck", "run", name, check=False)
        status = engine("inspect", "--format", "{{.State.Health.Status}}", name, check=False)
        if status == "healthy":
            return time.monotonic() - began
        time.sleep(2)
    raise AssertionError(f"{name}'s healthcheck says {status!r} after {HEALTHY_S} s")


def user(name):
    uid = engine("exec", name, "id", "-u")
    assert uid != "0", f"{name} runs as root"
    return uid


def drawing(digit):
    """A PNG of a digit drawn as the dashboard's canvas hands it over (tests/browser/strokes.py's strokes)."""
    buffer = io.BytesIO()
    render([(PEN, points) for points in strokes(digit)]).save(buffer, "PNG")
    return buffer.getvalue()


def post(url, png):
    boundary = "digitlib-smoke"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="drawing.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as reply:
        return json.loads(reply.read())


def check_api(name):
    began = time.monotonic()
    port = start(name, 8000)
    base = f"http://127.0.0.1:{port}"
    print(f"api: /healthz answered {wait_for(base + '/healthz', name, began):.1f} s after the start", flush=True)
    row = post(base + "/predict", drawing(3))
    assert row["digit"] == 3, f"the API read a drawn 3 as {row}"
    print(f"api: a drawn 3 read as {row['digit']} ({max(row['probabilities']):.1%}) by {row['model']}", flush=True)
    print(f"api: runs as uid {user(name)}; healthcheck healthy after {healthy(name):.1f} s more", flush=True)


def check_dashboard(name):
    began = time.monotonic()
    command = ["voila", "notebooks/06_dashboard.ipynb", "--port=8866", "--Voila.ip=0.0.0.0", "--no-browser"]
    port = start(name, 8866, *command)
    url = f"http://127.0.0.1:{port}/"
    up = wait_for(url + "voila/static/favicon.ico", name, began)
    print(f"dashboard: the server answered {up:.1f} s after the start", flush=True)
    began = time.monotonic()
    shown = asyncio.run(visitor_reads(url, strokes(7)))
    assert shown.lstrip().startswith("7"), f"the dashboard read a drawn 7 as {shown!r}"
    print(f"dashboard: page loaded, a drawn 7 shown as {shown!r} ({time.monotonic() - began:.1f} s)", flush=True)
    print(f"dashboard: runs as uid {user(name)}; healthcheck healthy after {healthy(name):.1f} s more", flush=True)


def main():
    size = int(engine("image", "inspect", "--format", "{{.Size}}", IMAGE))
    print(f"image {IMAGE} ({ENGINE}): {size / 1e6:.0f} MB; load average {os.getloadavg()}", flush=True)
    names = ["digitlib-smoke-api", "digitlib-smoke-dashboard"]
    try:
        check_api(names[0])
        check_dashboard(names[1])
    except (AssertionError, RuntimeError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        for name in names:
            engine("rm", "-f", "-t", "0", name, check=False)
    print(f"smoke test passed; load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
