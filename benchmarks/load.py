"""Load test of the HTTP API on loopback: `python -m digitlib serve` started here with 1, then 2 workers, and N
concurrent clients posting drawings (MNIST test digits drawn as the dashboard's canvas hands them over), each run
bounded in time and in requests. Reports throughput, p50/p95/p99 latency, errors, right answers, the server's
memory (all its processes) and the machine's load average; the clients run on the same machine.

.venv/bin/python benchmarks/load.py [--clients 8 32] [--workers 1 2] [--duration 30] [--requests 20000]
"""

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image

from digitlib.synth import mnist_digits

ROOT = Path(__file__).resolve().parent.parent


def drawings(count, size=280):
    """(PNG bytes, label) of MNIST test digits as a canvas saves them: black strokes on a transparent picture."""
    images, labels = mnist_digits("test")
    out = []
    for digit, label in zip(images[:count], labels[:count]):
        ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)) > 127
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[..., 3] = np.where(ink, 255, 0)
        buffer = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
        out.append((buffer.getvalue(), int(label)))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, workers):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "digitlib", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


def memory(pid):
    """RSS and USS (bytes) of a process and its children, summed."""
    rss = uss = 0
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss, uss = rss + info.rss, uss + info.uss
    return rss, uss


async def run(url, pictures, clients, duration, max_requests, pid):
    """N clients posting pictures in turn until the duration or the request budget is spent."""
    latencies, errors, right, sent = [], {}, 0, 0
    peak = (0, 0)
    deadline = time.monotonic() + duration

    async def client(client_id, http):
        nonlocal right, sent
        i = client_id
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            data, label = pictures[i % len(pictures)]
            i += clients
            start = time.perf_counter()
            try:
                reply = await http.post(url, files={"image": ("drawing.png", data, "image/png")})
                latencies.append(time.perf_counter() - start)
                if reply.status_code != 200:
                    errors[str(reply.status_code)] = errors.get(str(reply.status_code), 0) + 1
                else:
                    right += reply.json()["digit"] == label
            except httpx.HTTPError as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1

    async def watch():
        nonlocal peak
        while time.monotonic() < deadline and sent < max_requests:
            peak = max(peak, memory(pid))
            await asyncio.sleep(1)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        start = time.perf_counter()
        await asyncio.gather(watch(), *(client(c, http) for c in range(clients)))
        elapsed = time.perf_counter() - start
    ms = sorted(1000 * t for t in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    return {
        "clients": clients,
        "requests": sent,
        "seconds": round(elapsed, 1),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "errors": errors,
        "right": round(right / max(1, len(latencies)), 4),
        "server_rss_mib": round(peak[0] / 2**20),
        "server_uss_mib": round(peak[1] / 2**20),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="concurrent clients, one run each")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server workers, one server each")
    p.add_argument("--duration", type=float, default=30, help="seconds per run, at most")
    p.add_argument("--requests", type=int, default=20_000, help="requests per run, at most")
    p.add_argument("--pictures", type=int, default=500, help="distinct drawings posted")
    args = p.parse_args()
    pictures = drawings(args.pictures)
    print(f"{len(pictures)} drawings, {np.mean([len(d) for d, _ in pictures]) / 1e3:.1f} kB each", flush=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before", flush=True)
    for workers in args.workers:
        port = free_port()
        server = start_server(port, workers)
        try:
            idle = memory(server.pid)
            url = f"http://127.0.0.1:{port}/predict"
            asyncio.run(run(url, pictures, 2, 2, 50, server.pid))  # warm-up
            for clients in args.clients:
                result = asyncio.run(run(url, pictures, clients, args.duration, args.requests, server.pid))
                result = {"workers": workers, **result, "idle_rss_mib": round(idle[0] / 2**20)}
                print(json.dumps(result), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
